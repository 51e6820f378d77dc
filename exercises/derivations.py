"""Derivations: ordered parts on one shared instance, as the articles build their results.

A preset names its parts in order, (a), (b), ...; the last part's kind gives the
shared instance (W and x for the layer; W, x and c for cross-entropy). Each part is
asked on its own instance, derived from the shared one here and nowhere else: the
given values it needs, and z = W^T x for a part whose kind takes the logits.
"""

from __future__ import annotations

from dataclasses import dataclass

from exercises import DrawOptions, Instance, InstanceError, get
from exercises.chains import CHAINS

LETTERS = "abcdefghij"


@dataclass(frozen=True)
class Preset:
    """A derivation an instructor may ask: its title and its parts' kinds, in order."""

    name: str
    title: str
    parts: tuple[str, ...]

    @property
    def shared_kind(self) -> str:
        """The kind whose given values the parts share: the last part's."""
        return self.parts[-1]


PRESETS: dict[str, Preset] = {
    preset.name: preset
    for preset in (
        Preset(
            "softmax_layer",
            "The softmax layer, step by step",
            ("softmax", "softmax_jacobian", "logits_weight_jacobian", "layer_jacobian"),
        ),
        Preset(
            "cross_entropy",
            "Cross-entropy",
            ("softmax", "cross_entropy_logits_grad", "cross_entropy_weight_grad"),
        ),
    )
}


def preset(name: str) -> Preset:
    """The preset named ``name``; an unknown name is an :class:`InstanceError` that lists them."""
    try:
        return PRESETS[name]
    except (KeyError, TypeError):
        known = ", ".join(PRESETS)
        raise InstanceError(f"unknown derivation {name!r}: the derivations are {known}") from None


def letter(index: int) -> str:
    """A part's letter, 0-based: 0 is ``a``."""
    return LETTERS[index]


def draw_shared(preset_: Preset, seed: int, n: int | None = None, K: int | None = None) -> Instance:
    """The shared instance of one student's derivation (always in numerator layout)."""
    return get(preset_.shared_kind).draw(seed, DrawOptions(n=n, K=K))


def part_instance(kind: str, shared: Instance) -> Instance:
    """The instance part ``kind`` is asked on, from the derivation's shared instance."""
    exercise = get(kind)
    values: Instance = {"kind": kind}
    for name in exercise.given:
        if name in shared:
            values[name] = shared[name]
        elif name == "z":
            z = get(shared["kind"]).logits(shared)
            if z is None:
                raise InstanceError(f"{shared['kind']} gives no logits for part {kind}")
            values["z"] = [float(v) for v in z]  # z = W^T x, exactly: the chains use it so
        else:
            raise InstanceError(f"{shared['kind']} gives no {name!r} for part {kind}")
    return exercise.validate(values)


def sources(preset_: Preset, kind: str) -> tuple[str, ...]:
    """The earlier parts of ``preset_`` that part ``kind`` is built from (follow-through)."""
    chain = CHAINS.get(kind)
    if chain is None or kind not in preset_.parts:
        return ()
    earlier = preset_.parts[: preset_.parts.index(kind)]
    return tuple(source for source in chain.sources if source in earlier)
