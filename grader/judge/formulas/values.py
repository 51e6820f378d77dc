"""A sub-formula's value: an array over the index grid, and whether it is a matrix.

Also the words that name a value's shape in a message, which two matrices combine
entrywise, and the operations on two values that do not depend on the tree: lifting
them to one shape, kron and outer, each within the size limit.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from grader.judge.formulas.lexer import FormulaError

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


def check_size(elements: int) -> None:
    if elements > MAX_ELEMENTS:
        raise FormulaError("the formula's arrays grow too large to evaluate")


def as_matrix(value: Value) -> Array:
    """A number as a 1 x 1 matrix; a matrix as it is."""
    return value.array if value.matrix else value.array[..., np.newaxis, np.newaxis]


def lifted(left: Value, right: Value) -> tuple[Array, Array]:
    """The two arrays of an entrywise operation, a number given the matrix axes of the other."""
    a, b = left.array, right.array
    if left.matrix and not right.matrix:
        b = b[..., np.newaxis, np.newaxis]
    elif right.matrix and not left.matrix:
        a = a[..., np.newaxis, np.newaxis]
    elif left.matrix and right.matrix and not broadcastable(a.shape[-2:], b.shape[-2:]):
        raise FormulaError(f"cannot combine {shape_words(left)} and {shape_words(right)}")
    check_size(int(np.prod(np.broadcast_shapes(a.shape, b.shape))))
    return a, b


def kron(left: Value, right: Value) -> Value:
    a, b = as_matrix(left), as_matrix(right)
    (p, q), (r, s) = a.shape[-2:], b.shape[-2:]
    lead = np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
    check_size(int(np.prod(lead)) * p * q * r * s)
    product = a[..., :, np.newaxis, :, np.newaxis] * b[..., np.newaxis, :, np.newaxis, :]
    return Value(product.reshape((*lead, p * r, q * s)), True)


def outer(left: Value, right: Value) -> Value:
    """The entries of ``left`` as a column times those of ``right`` as a row."""
    a, b = as_matrix(left), as_matrix(right)
    a = a.reshape((*a.shape[:-2], -1, 1))
    b = b.reshape((*b.shape[:-2], 1, -1))
    check_size(int(np.prod(np.broadcast_shapes(a.shape, b.shape))))
    return Value(a * b, True)
