"""What a formula answer may name: a kind's entry indices and its symbols.

Each kind declares one :class:`Notation` (its class attribute ``notation``): the
indices of its general entry, each with the size it counts (``"K"`` classes or
``"n"`` inputs), and the symbols a formula may use. How an entry's indices lay
out the answer: the first index is the row, the others, in order, flatten into
the column (``[t, i*n + j]`` for ``("t", "i", "j")``); a single index is a vector.
"""

from __future__ import annotations

from dataclasses import dataclass

#: the sizes an index counts, and what they are called in a message
SIZES = {"K": "the K classes", "n": "the n inputs"}

#: the symbols the grader knows, with the sizes of their axes (() for a number)
SYMBOL_AXES: dict[str, tuple[str, ...]] = {
    "z": ("K",),
    "S": ("K",),
    "x": ("n",),
    "W": ("n", "K"),
    "y": ("K",),
    "x1": (),
    "x2": (),
    "K": (),
    "n": (),
}


@dataclass(frozen=True)
class Notation:
    """The general entry's indices (name, size counted) and the symbols a formula may use."""

    entry: tuple[tuple[str, str], ...]
    symbols: frozenset[str]
    #: the class index c, usable as a subscript (y_c, delta_ic)
    has_class: bool = False
    #: how the statement names the general entry, e.g. "dS_i/dz_j"
    entry_name: str = ""

    @property
    def indices(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.entry)

    def size_of(self, index: str) -> str:
        return dict(self.entry)[index]


def notation(
    entry: str, sizes: str, symbols: str, *, has_class: bool = False, entry_name: str = ""
) -> Notation:
    """A notation from short strings: ``notation("tij", "KKn"...)`` is t, i over K and j over n."""
    return Notation(
        entry=tuple(zip(entry, sizes, strict=True)),
        symbols=frozenset(symbols.split()),
        has_class=has_class,
        entry_name=entry_name,
    )
