"""Evaluating a formula's tree on one instance, vectorised with numpy over the index grid.

Every value is an array with one axis per index (the entry's own, then one per
sum) followed by, for a matrix or a vector, two matrix axes (vectors are
columns). An entry written with its indices, ``S_i (delta_ij - S_j)``, is then
one array over the whole grid; a matrix expression, ``diag(S) - S S^T``, is
a matrix whose index axes all have length 1.

The grid's axes and index notation are in :mod:`grader.judge.formulas.grid`, a value's
type, the words for its shape and the operations on two values (entrywise with
broadcasting, kron, outer) in :mod:`grader.judge.formulas.values`; this module walks
the tree: symbols, operators, functions, sums and matrices written out.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt

from exercises.notation import SYMBOL_AXES, Notation
from grader.judge.formulas.grid import IndexGrid
from grader.judge.formulas.lexer import FormulaError
from grader.judge.formulas.tree import (
    Binary,
    Call,
    Delta,
    Expression,
    Matrix,
    Negate,
    Number,
    Subscript,
    Sum,
    Symbol,
    Transpose,
)
from grader.judge.formulas.values import (
    MAX_ELEMENTS,
    Array,
    Value,
    check_size,
    kron,
    lifted,
    outer,
    shape_words,
)


def evaluate(
    tree: Expression,
    notation: Notation,
    values: dict[str, Any],
    layout: str = "numerator",
    dtype: type = np.float64,
) -> npt.NDArray[np.float64]:
    """The formula's answer on one instance, laid out as the kind's answer is."""
    with np.errstate(all="ignore"):
        evaluation = _Evaluation(tree, notation, values, dtype)
        value = evaluation.value(tree, dict(evaluation.entry_axes))
        return evaluation.answer(value, layout)


def one_number(tree: Expression) -> float:
    """The value of a formula made of numbers and constants only (an exact matrix entry)."""
    empty = Notation(entry=(), symbols=frozenset())
    with np.errstate(all="ignore"):
        value = _Evaluation(tree, empty, {}, np.float64).value(tree, {})
    if value.matrix:
        raise FormulaError("expected a number, found a matrix")
    return float(value.array.reshape(()))


class _Evaluation(IndexGrid):
    def __init__(self, tree: Expression, notation: Notation, values: dict[str, Any], dtype: type) -> None:
        super().__init__(tree, notation, values)
        self.dtype = dtype

    # ---- values ---------------------------------------------------------------------

    def scalar(self, number: float) -> Value:
        return Value(np.full(self.scalar_shape, number, dtype=self.dtype), False)

    def data(self, name: str) -> Array:
        return np.asarray(self.values[name], dtype=self.dtype)

    def value(self, node: Expression, env: dict[str, int]) -> Value:
        result = self._value(node, env)
        if result.array.size > MAX_ELEMENTS:
            raise FormulaError("the formula's arrays grow too large to evaluate")
        return result

    def _value(self, node: Expression, env: dict[str, int]) -> Value:
        if isinstance(node, Number):
            return self.scalar(node.value)
        if isinstance(node, Symbol):
            return self.symbol(node, env)
        if isinstance(node, Delta):
            equal = self.position(node.first, env) == self.position(node.second, env)
            return Value(equal.astype(self.dtype), False)
        if isinstance(node, Negate):
            operand = self.value(node.operand, env)
            return Value(-operand.array, operand.matrix)
        if isinstance(node, Binary):
            return self.binary(node, env)
        if isinstance(node, Call):
            return self.call(node, env)
        if isinstance(node, Transpose):
            operand = self.value(node.operand, env)
            return Value(np.swapaxes(operand.array, -1, -2), True) if operand.matrix else operand
        if isinstance(node, Subscript):
            operand = self.value(node.operand, env)
            if not operand.matrix:
                raise FormulaError("a subscript on a number: only vectors and matrices have entries")
            array = operand.array
            if len(node.indices) == 1:
                if 1 not in array.shape[-2:]:
                    raise FormulaError("one index on a matrix: a matrix's entry needs two")
                array = array.reshape((*array.shape[:-2], -1))
            return Value(self.place(array, node.indices, env, "the expression", None), False)
        if isinstance(node, Sum):
            return self.summed(node, env)
        return self.matrix_literal(node, env)

    def symbol(self, node: Symbol, env: dict[str, int]) -> Value:
        name = node.name
        if name == "index":
            raise FormulaError(f"the index {node.indices[0]} is used as a number; compare indices with delta")
        if name == "e":
            return self.scalar(math.e)
        if name == "pi":
            return self.scalar(math.pi)
        if name == "I":
            eye = np.eye(self.sizes["K"], dtype=self.dtype)
            return Value(eye.reshape(self.scalar_shape + eye.shape), True)
        if name not in self.values:
            raise FormulaError(f"{name} is not a symbol of this exercise")
        if not SYMBOL_AXES[name]:
            if node.indices:
                raise FormulaError(f"{name} is a number and takes no subscript")
            return self.scalar(float(self.values[name]))
        data = self.data(name)
        if not node.indices:
            matrix = data.reshape(-1, 1) if data.ndim == 1 else data
            return Value(matrix.reshape(self.scalar_shape + matrix.shape), True)
        if len(node.indices) != data.ndim:
            wanted = "one index" if data.ndim == 1 else f"{data.ndim} indices"
            raise FormulaError(f"{name} takes {wanted}, as in {name}_{'ji'[: data.ndim]}")
        array = data.reshape(self.scalar_shape + data.shape)
        return Value(self.place(array, node.indices, env, name, SYMBOL_AXES[name]), False)

    def binary(self, node: Binary, env: dict[str, int]) -> Value:
        left, right = self.value(node.left, env), self.value(node.right, env)
        operator = node.operator
        if operator == "^" and node.left == Symbol("e"):
            return Value(np.exp(right.array), right.matrix)
        if operator == "*" and left.matrix and right.matrix:
            (rows, inner), (inner_right, columns) = left.array.shape[-2:], right.array.shape[-2:]
            if inner == inner_right:
                check_size(rows * columns * inner)
                return Value(np.matmul(left.array, right.array), True)
        a, b = lifted(left, right)
        try:
            if operator == "+":
                result = a + b
            elif operator == "-":
                result = a - b
            elif operator == "*":
                result = a * b
            elif operator == "/":
                result = a / b
            else:
                result = np.power(a, b)
        except ValueError:
            raise FormulaError(
                f"cannot combine {shape_words(left)} and {shape_words(right)} with {operator!r}"
            ) from None
        return Value(result, left.matrix or right.matrix)

    def call(self, node: Call, env: dict[str, int]) -> Value:
        function = node.function
        if function == "softmax":
            return self.softmax(node.arguments[0], env)
        if function == "onehot":
            argument = node.arguments[0]
            if not (isinstance(argument, Symbol) and argument.indices == ("c",) and "y" in self.values):
                raise FormulaError("onehot takes the class c: onehot(c)")
            return self.symbol(Symbol("y"), env)
        arguments = [self.value(a, env) for a in node.arguments]
        if function in ("outer", "kron"):
            return kron(*arguments) if function == "kron" else outer(*arguments)
        (argument,) = arguments
        array = argument.array
        if function == "exp":
            return Value(np.exp(array), argument.matrix)
        if function == "log":
            return Value(np.log(array), argument.matrix)
        if function == "sqrt":
            return Value(np.sqrt(array), argument.matrix)
        if not argument.matrix:
            raise FormulaError(f"{function}( ) of a single entry: {function} takes a vector or a matrix")
        if function == "sum":
            return Value(array.sum(axis=(-2, -1)), False)
        if function == "max":
            return Value(array.max(axis=(-2, -1)), False)
        rows, columns = array.shape[-2:]  # diag
        if 1 in (rows, columns):
            vector = array.reshape((*array.shape[:-2], -1))
            size = vector.shape[-1]
            check_size(vector.size * size)
            return Value(vector[..., :, np.newaxis] * np.eye(size, dtype=self.dtype), True)
        if rows != columns:
            raise FormulaError(f"diag of a {rows} x {columns} matrix: diag takes a vector or a square matrix")
        return Value(np.diagonal(array, axis1=-2, axis2=-1)[..., np.newaxis], True)

    def softmax(self, argument: Expression, env: dict[str, int]) -> Value:
        if isinstance(argument, Symbol) and argument.name == "z":
            return self.symbol(Symbol("S", argument.indices), env)  # sigma(z_i) is S_i
        value = self.value(argument, env)
        if not value.matrix or 1 not in value.array.shape[-2:]:
            raise FormulaError("softmax takes the vector z, as in softmax(z) or sigma(z)_i")
        shifted = np.exp(value.array - value.array.max(axis=(-2, -1), keepdims=True))
        return Value(shifted / shifted.sum(axis=(-2, -1), keepdims=True), True)

    def summed(self, node: Sum, env: dict[str, int]) -> Value:
        axis = self.sum_axes[id(node)]
        inner = {**env, node.index: axis}
        body = self.value(node.body, inner)
        size = self.sizes[self.domains[axis]]
        if size == 0:
            raise FormulaError("a sum over an index belongs in a formula of the exercise, not in a number")
        positions = np.arange(size)
        mask = np.ones(size, dtype=bool)
        if node.lower is not None or node.upper is not None:
            lower = self.bound(node.lower, env, 1)
            base = 0 if lower == 0 else 1
            upper = self.bound(node.upper, env, size - 1 + base)
            mask = (positions + base >= lower) & (positions + base <= upper)
        shape = [1] * (self.axes + (2 if body.matrix else 0))
        shape[axis] = size
        return Value((body.array * mask.reshape(shape)).sum(axis=axis, keepdims=True), body.matrix)

    def bound(self, node: Expression | None, env: dict[str, int], default: int) -> float:
        if node is None:
            return default
        value = self.value(node, env)
        if value.matrix or np.ptp(value.array) != 0:
            raise FormulaError("a sum's bounds are numbers, as in sum_{k=1}^K")
        number = float(value.array.flat[0])
        if not number.is_integer():
            raise FormulaError(f"a sum's bound is a whole number, not {number:g}")
        return number

    def matrix_literal(self, node: Matrix, env: dict[str, int]) -> Value:
        entries = []
        for row in node.rows:
            for entry in row:
                value = self.value(entry, env)
                if value.matrix:
                    if value.array.shape[-2:] != (1, 1):
                        raise FormulaError("a matrix's entry is a number, not a vector or a matrix")
                    value = Value(value.array[..., 0, 0], False)
                entries.append(value.array)
        stacked = np.stack(np.broadcast_arrays(*entries), axis=-1)
        return Value(stacked.reshape((*stacked.shape[:-1], len(node.rows), len(node.rows[0]))), True)
