"""Derivations: which answers are built from which, as the articles build them.

A chain says how a later part follows from earlier ones by the chain rule (their
S gives dS/dz and S - y; their dS/dz times dz/dvec(W) gives dS/dvec(W); x times
their dL/dz gives dL/dW). Every array here is in numerator layout; the parts of
one derivation share one instance, whose given values each part reads as it
needs them (dS/dz on a layer's instance is taken at z = W^T x).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np

from exercises import get
from exercises.base import Array, Instance
from exercises.cross_entropy import cross_entropy_logits_grad, one_hot
from exercises.layer import layer_arrays, logits_weight_jacobian
from exercises.softmax import softmax, softmax_jacobian

#: how a part's answer is named in a message to a student
SYMBOLS: dict[str, str] = {
    "softmax": "S",
    "softmax_jacobian": "dS/dz",
    "logits_weight_jacobian": "dz/dvec(W)",
    "layer_jacobian": "dS/dvec(W)",
    "cross_entropy_logits_grad": "dL/dz",
    "cross_entropy_weight_grad": "dL/dW",
    "jacobian_warmup": "the Jacobian",
}


@dataclass(frozen=True)
class Chain:
    """A later part built from earlier parts: ``build`` takes each source's array by kind."""

    later: str
    sources: tuple[str, ...]
    build: Callable[[Instance, Mapping[str, Array]], Array]


def truth(kind: str, instance: Instance) -> Array:
    """The right answer to part ``kind`` on a derivation's shared instance (numerator layout)."""
    z = get(instance["kind"]).logits(instance)
    if z is None:
        raise KeyError(f"{instance['kind']!r} has no logits: it is no part of a derivation")
    if kind == "softmax":
        return softmax(z)
    if kind == "softmax_jacobian":
        return softmax_jacobian(z)
    if kind == "logits_weight_jacobian":
        return logits_weight_jacobian(*layer_arrays(instance))
    if kind == "cross_entropy_logits_grad":
        return cross_entropy_logits_grad(z, int(instance["c"]))
    raise KeyError(f"{kind!r} is no earlier part of any derivation")


def _jacobian_from_softmax(instance: Instance, parts: Mapping[str, Array]) -> Array:
    S = parts["softmax"]
    return np.diag(S) - np.outer(S, S)  # diag(S) - S S^T


def _layer_from_parts(instance: Instance, parts: Mapping[str, Array]) -> Array:
    return parts["softmax_jacobian"] @ parts["logits_weight_jacobian"]  # dS/dz dz/dvec(W)


def _logits_grad_from_softmax(instance: Instance, parts: Mapping[str, Array]) -> Array:
    S = parts["softmax"]
    return S - one_hot(int(instance["c"]), S.size)  # S - y


def _weight_grad_from_logits_grad(instance: Instance, parts: Mapping[str, Array]) -> Array:
    _, x = layer_arrays(instance)
    return np.outer(x, parts["cross_entropy_logits_grad"])  # x (dL/dz)^T


CHAINS: dict[str, Chain] = {
    chain.later: chain
    for chain in (
        Chain("softmax_jacobian", ("softmax",), _jacobian_from_softmax),
        Chain("layer_jacobian", ("softmax_jacobian", "logits_weight_jacobian"), _layer_from_parts),
        Chain("cross_entropy_logits_grad", ("softmax",), _logits_grad_from_softmax),
        Chain("cross_entropy_weight_grad", ("cross_entropy_logits_grad",), _weight_grad_from_logits_grad),
    )
}
