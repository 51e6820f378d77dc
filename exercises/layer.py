"""The softmax layer z = W^T x, S = softmax(z): Jacobians with respect to vec(W).

vec(W) stacks the columns of W (n inputs x K classes): position i*n + j holds
W[j, i], the weight from input j to class i (0-based).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from exercises.base import (
    Array,
    Exercise,
    Input,
    Instance,
    Misconception,
    Property,
    Statement,
    as_numerator,
)
from exercises.inputs import matrix_latex, matrix_text, vector_latex, vector_text
from exercises.notation import notation
from exercises.softmax import (
    DIAGONAL_ONLY,
    OTHER_INSTANCE,
    OUTER_ONLY,
    USED_LOGITS,
    softmax,
    softmax_jacobian,
)

WEIGHTS = Input("W", "matrix", ("n", "K"), "the weights, one row per input, one column per class")
LAYER_INPUTS = Input("x", "vector", ("n",), "the inputs")

VEC_ORDER = Misconception(
    "vec_order",
    "Your columns follow W flattened row by row; vec(W) stacks the columns of W, so entry "
    "(i-1)n + j of vec(W) is W_ji (input j, class i). Reorder your columns.",
)
MISSING_INPUT_FACTOR = Misconception(
    "missing_input_factor",
    "The factor x_j is missing: by the chain rule each entry is dS_t/dz_i times dz_i/dW_ji = x_j.",
)


#: the layer article's worked example (n = 3, K = 5): an answer for it is named other_instance
ARTICLE_X = (0.1, 0.5, 0.4)
ARTICLE_W = (
    (0.1, 0.2, 0.3, 0.4, 0.5),
    (0.6, 0.7, 0.8, 0.9, 0.1),
    (0.11, 0.12, 0.13, 0.14, 0.15),
)


def logits(W: Array, x: Array) -> Array:
    """z = W^T x."""
    return W.T @ x


def logits_weight_jacobian(W: Array, x: Array) -> Array:
    """dz/dvec(W): [k, i*n + j] = delta_ki x_j, a block diagonal of copies of x."""
    return _times_inputs(np.eye(W.shape[1]), x)


def layer_jacobian(W: Array, x: Array) -> Array:
    """dS/dvec(W) = dS/dz dz/dvec(W): [t, i*n + j] = S_t (delta_ti - S_i) x_j."""
    return _times_inputs(softmax_jacobian(logits(W, x)), x)


def _times_inputs(by_class: Array, x: Array) -> Array:
    """[t, i*n + j] = by_class[t, i] x_j: each column i of by_class spread over its block of vec(W)."""
    rows, K = by_class.shape
    return (by_class[:, :, np.newaxis] * x[np.newaxis, np.newaxis, :]).reshape(rows, K * x.size)


def row_major(jacobian: Array, n: int, K: int) -> Array:
    """The same Jacobian with W flattened row by row: column j*K + i instead of i*n + j."""
    rows = jacobian.shape[0]
    return jacobian.reshape(rows, K, n).transpose(0, 2, 1).reshape(rows, n * K)


def article_layer_answer(exercise: Exercise, instance: Instance) -> dict[str, Array]:
    """The answer for the layer article's W and x, where it has the instance's shape."""
    if np.shape(instance["W"]) != np.shape(ARTICLE_W):
        return {}
    article = {**instance, "W": [list(row) for row in ARTICLE_W], "x": list(ARTICLE_X)}
    return {"other_instance": as_numerator(article, exercise.reference(article))}


def layer_arrays(instance: Instance) -> tuple[Array, Array]:
    """W and x of an instance as arrays."""
    return np.asarray(instance["W"], dtype=np.float64), np.asarray(instance["x"], dtype=np.float64)


class GivenLayer(Exercise):
    """A kind given a softmax layer's weights W and inputs x (and maybe more after them)."""

    inputs = (WEIGHTS, LAYER_INPUTS)

    _arrays = staticmethod(layer_arrays)

    def logits(self, instance: Instance) -> Array:
        return logits(*self._arrays(instance))


class _LayerExercise(GivenLayer):
    layouts = ("numerator", "denominator")
    output = "z"  # the symbol differentiated
    misconceptions = (VEC_ORDER, OTHER_INSTANCE)

    def _mistakes(self, instance: Instance) -> dict[str, Array]:
        n, K = np.shape(instance["W"])
        return {
            "vec_order": row_major(self._reference(instance), n, K),
            **article_layer_answer(self, instance),
        }

    def entry_label(self, instance: Instance, index: tuple[int, ...]) -> str:
        out, column = index if instance.get("layout") != "denominator" else index[::-1]
        n = len(instance["x"])
        i, j = divmod(column, n)
        return f"d{self.output}_{out + 1}/dW[{j + 1},{i + 1}]"

    def regions(self, instance: Instance, shape: tuple[int, ...]) -> list[tuple[str, Any]]:
        n, K = np.shape(instance["W"])
        found = super().regions(instance, shape)
        if shape != self.expected_shape(instance) or K < 2:
            return found
        column_of = np.indices(shape)[1 if instance.get("layout") != "denominator" else 0]
        blocks = [
            (f"the block of W's column {i + 1} (the weights into class {i + 1})", column_of // n == i)
            for i in range(K)
        ]
        return found + blocks

    def edge_cases(self, rng: np.random.Generator) -> list[Instance]:
        cases = [
            ([[1000.0, 1001.0, 1002.0]], [1.0]),  # n = 1, z = 1000 + k
            ([[-400.0, -401.0], [-600.0, -602.0]], [1.0, 1.0]),  # z = -1000 - k
            ([[0.5], [-0.25]], [1.0, 2.0]),  # K = 1
            ([[0.3, -0.2, 0.1], [0.4, 0.0, -0.5]], [0.0, 0.0]),  # x = 0: ties in z
            ([[1.5, -2.0], [0.25, 0.75], [-1.0, 0.5]], [-1.0, 0.5, -2.0]),  # negative inputs
        ]
        return [{"kind": self.name, "W": W, "x": x, "layout": "numerator"} for W, x in cases]

    def _layout_words(self, instance: Instance, rows: int, columns: int) -> tuple[str, str]:
        out = self.output
        if instance.get("layout", "numerator") == "numerator":
            return (
                f"a {rows} x {columns} matrix in numerator layout: row t, column (i-1)n + j "
                f"holds d{out}_t/dW_ji",
                rf"a ${rows} \times {columns}$ matrix in numerator layout: row $t$, column "
                rf"$(i-1)n + j$ holds $\partial {out}_t / \partial W_{{ji}}$",
            )
        return (
            f"a {columns} x {rows} matrix in denominator layout: row (i-1)n + j, column t "
            f"holds d{out}_t/dW_ji",
            rf"a ${columns} \times {rows}$ matrix in denominator layout: row $(i-1)n + j$, "
            rf"column $t$ holds $\partial {out}_t / \partial W_{{ji}}$",
        )

    def _statement(self, instance: Instance, what_text: str, what_latex: str) -> Statement:
        W, x = instance["W"], instance["x"]
        n, K = len(x), len(W[0])
        how_text, how_latex = self._layout_words(instance, K, n * K)
        vec_text = (
            f"vec(W) stacks the columns of W: entry (i-1)n + j of vec(W) is W_ji, the weight "
            f"from input j to class i (n = {n}, K = {K}; subscripts are 1-based)"
        )
        vec_latex = (
            r"$\operatorname{vec}(W)$ stacks the columns of $W$: entry $(i-1)n + j$ is "
            rf"$W_{{ji}}$, the weight from input $j$ to class $i$ ($n = {n}$, $K = {K}$)"
        )
        return Statement(
            text=(
                f"A softmax layer has inputs x = {vector_text(x)} and weights W = "
                f"{matrix_text(W)} (n x K, one row per input, one column per class), "
                f"so z = W^T x and S = softmax(z). Compute {what_text} with respect to vec(W), "
                f"{how_text}. Here {vec_text}."
            ),
            latex=(
                rf"A softmax layer has inputs $\mathbf{{x}} = {vector_latex(x)}$ and weights "
                rf"$W = {matrix_latex(W)}$, so $\mathbf{{z}} = W^\top \mathbf{{x}}$ and "
                r"$\mathbf{S} = \operatorname{softmax}(\mathbf{z})$. "
                rf"Compute {what_latex}: {how_latex}. Here {vec_latex}."
            ),
        )


class LogitsWeightJacobian(_LayerExercise):
    name = "logits_weight_jacobian"
    title = "The logits' Jacobian dz/dvec(W)"
    notation = notation("kij", "KKn", "x W z K n", entry_name="dz_k/dW_ji")

    def _reference(self, instance: Instance) -> Array:
        return logits_weight_jacobian(*self._arrays(instance))

    def properties(self, instance: Instance) -> list[Property]:
        n = len(instance["x"])
        return [
            Property(
                f"row k is zero outside its own block of {n} columns, where it repeats x",
                lambda a: _block_diagonal(as_numerator(instance, a), n),
            )
        ]

    def statement(self, instance: Instance) -> Statement:
        return self._statement(
            instance,
            "the Jacobian dz/dvec(W) of the logits",
            r"the Jacobian $\partial \mathbf{z} / \partial \operatorname{vec}(W)$ of the logits",
        )


class LayerJacobian(_LayerExercise):
    name = "layer_jacobian"
    title = "The softmax layer's Jacobian dS/dvec(W)"
    output = "S"
    misconceptions = (VEC_ORDER, MISSING_INPUT_FACTOR, DIAGONAL_ONLY, OUTER_ONLY, USED_LOGITS, OTHER_INSTANCE)
    notation = notation("tij", "KKn", "x W z S K n", entry_name="dS_t/dW_ji")

    def _reference(self, instance: Instance) -> Array:
        return layer_jacobian(*self._arrays(instance))

    def _mistakes(self, instance: Instance) -> dict[str, Array]:
        W, x = self._arrays(instance)
        n, _ = W.shape
        z = logits(W, x)
        S = softmax(z)
        return {
            **super()._mistakes(instance),
            "missing_input_factor": _times_inputs(softmax_jacobian(z), np.ones(n)),
            "diagonal_only": _times_inputs(np.diag(S * (1 - S)), x),
            "outer_only": _times_inputs(-np.outer(S, S), x),
            "used_logits": _times_inputs(np.diag(z) - np.outer(z, z), x),
        }

    def properties(self, instance: Instance) -> list[Property]:
        return [
            Property(
                "each column sums to zero over t (the entries of S always sum to 1)",
                lambda a: bool(
                    np.allclose(as_numerator(instance, a).sum(axis=0), 0.0, atol=1e-2 * np.abs(a).max())
                ),
            )
        ]

    def statement(self, instance: Instance) -> Statement:
        return self._statement(
            instance,
            "the Jacobian dS/dvec(W) of the layer's output",
            r"the Jacobian $\partial \mathbf{S} / \partial \operatorname{vec}(W)$ of the layer's output",
        )


def _block_diagonal(a: Array, n: int) -> bool:
    K = a.shape[0]
    if a.shape[1] != n * K:
        return False
    outside = a.reshape(K, K, n) * (1 - np.eye(K))[:, :, np.newaxis]
    return bool(np.allclose(outside, 0.0))


EXERCISES: tuple[Exercise, ...] = (LogitsWeightJacobian(), LayerJacobian())
