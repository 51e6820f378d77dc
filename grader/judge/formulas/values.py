"""A sub-formula's value: an array over the index grid, and whether it is a matrix.

Also the words that name a value's shape in a message, and which two matrices combine
entrywise.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy.typing as npt

MAX_ELEMENTS = 1_000_000  # no intermediate array larger: kron(kron(kron(...))) stops here
Array = npt.NDArray[Any]


@dataclass(frozen=True, slots=True)
class Value:
    array: Array
    matrix: bool  # the last two axes are a matrix's rows and columns


def broadcastable(first: tuple[int, ...], second: tuple[int, ...]) -> bool:
    """Entrywise, two matrices of one shape, or a 1 x 1 matrix with anything (S^T S is a number)."""
    return first == second or (1, 1) in (first, second)


def shape_words(value: Value) -> str:
    if not value.matrix:
        return "a number"
    rows, columns = value.array.shape[-2:]
    if columns == 1:
        return f"a vector of {rows}"
    return f"a {rows} x {columns} matrix"
