"""The index grid a formula is evaluated over, and its index notation.

One axis per index of the entry, then one per sum, each counting a size (classes K or
inputs n): an index's positions along its axis, a subscript number or the class c as
one position, data moved onto the axes of the indices that subscript it, and a value
over the grid laid out as the kind's answer.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from exercises.notation import SIZES, SYMBOL_AXES, Notation
from grader.judge.formulas.lexer import FormulaError
from grader.judge.formulas.tree import Expression, Sum, Symbol, children
from grader.judge.formulas.values import Array, Value


class IndexGrid:
    """The axes a formula is evaluated over: the entry's indices, then one axis per sum."""

    def __init__(self, tree: Expression, notation: Notation, values: dict[str, Any]) -> None:
        self.notation = notation
        self.values = values
        self.sizes = {"K": int(values.get("K", 0)), "n": int(values.get("n", 0))}
        self.entry_axes = {name: axis for axis, name in enumerate(notation.indices)}
        self.domains: list[str] = [size for _, size in notation.entry]
        self.sum_axes: dict[int, int] = {}
        self._number_sums(tree)
        self.axes = len(self.domains)
        self.scalar_shape = (1,) * self.axes

    def _number_sums(self, node: Expression) -> None:
        if isinstance(node, Sum):
            self.sum_axes[id(node)] = len(self.domains)
            self.domains.append(_domain_of(node.index, node.body))
        for child in children(node):
            self._number_sums(child)

    # ---- indices --------------------------------------------------------------------

    def position(self, index: str, env: dict[str, int]) -> Array:
        """An index's 0-based positions along its axis; the class c is its own number."""
        if index.isdigit() or (index == "c" and "c" not in env):
            return np.full(self.scalar_shape, self.constant_index(index))
        axis = env[index]
        shape = [1] * self.axes
        shape[axis] = self.sizes[self.domains[axis]]
        return np.arange(shape[axis]).reshape(shape)

    def constant_index(self, index: str) -> int:
        """The 0-based position of the class c, or of a subscript number (printed 1-based)."""
        if index == "c":
            return int(self.values["c"])
        if int(index) == 0:
            raise FormulaError("subscripts count from 1, as the statements print them")
        return int(index) - 1

    def place(
        self,
        array: Array,
        indices: tuple[str, ...],
        env: dict[str, int],
        what: str,
        sizes: tuple[str, ...] | None,
    ) -> Array:
        """Data axes (after the index axes) moved onto the axes of their indices; c takes its entry."""
        for k, index in enumerate(indices):
            length = array.shape[self.axes]
            if index.isdigit() or (index == "c" and "c" not in env):
                position = self.constant_index(index)
                if not 0 <= position < length:
                    raise FormulaError(
                        f"{what}_{index} does not exist here: {what} has {length} entries",
                        code="formula_index",
                    )
                array = np.take(array, position, axis=self.axes)
                continue
            axis = env[index]
            domain = self.domains[axis]
            if sizes is not None and sizes[k] != domain:
                raise FormulaError(
                    f"{what}_{''.join(indices)}: the index {index} of {what} counts {SIZES[sizes[k]]}, "
                    f"but {index} counts {SIZES[domain]}",
                    code="formula_index",
                )
            if length != self.sizes[domain]:
                raise FormulaError(
                    f"the index {index} counts {SIZES[domain]} ({self.sizes[domain]}), but {what} has "
                    f"{length} entries there",
                    code="formula_index",
                )
            if array.shape[axis] != 1:
                raise FormulaError(f"the index {index} appears twice in one subscript")
            array = np.moveaxis(np.squeeze(array, axis=axis), self.axes - 1, axis)
        return array

    # ---- the answer -------------------------------------------------------------------

    def answer(self, value: Value, layout: str) -> npt.NDArray[np.float64]:
        array = value.array
        entry = len(self.notation.entry)
        if value.matrix:
            if any(length != 1 for length in array.shape[:-2]):
                raise FormulaError(
                    "the formula is a matrix that still depends on an index: write either one "
                    "entry with its indices or the whole matrix without them",
                    code="shape",
                )
            return np.asarray(array.reshape(array.shape[-2:]), dtype=np.float64)
        grid = tuple(self.sizes[size] for size in self.domains[:entry])
        full = np.broadcast_to(array, grid + array.shape[entry:]).reshape(grid)
        if entry > 1:
            full = full.reshape(grid[0], -1)
            if layout == "denominator":
                full = full.T
        return np.asarray(full, dtype=np.float64)


def _domain_of(index: str, body: Expression) -> str:
    """The size a summed index counts, from the symbols it subscripts; classes by default."""
    for node in _walk(body):
        if isinstance(node, Symbol) and index in node.indices and node.name in SYMBOL_AXES:
            axes = SYMBOL_AXES[node.name]
            if len(axes) == len(node.indices):
                return axes[node.indices.index(index)]
        if isinstance(node, Sum) and node.index == index:
            break
    return "K"


def _walk(node: Expression) -> list[Expression]:
    found = [node]
    for child in children(node):
        found += _walk(child)
    return found
