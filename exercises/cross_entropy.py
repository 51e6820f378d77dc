"""Cross-entropy L = -log S_c and its gradients with respect to z and W."""

from __future__ import annotations

import numpy as np

from exercises.base import (
    Array,
    Exercise,
    Input,
    Instance,
    Misconception,
    Property,
    Statement,
)
from exercises.inputs import matrix_latex, matrix_text, vector_latex, vector_text
from exercises.layer import MISSING_INPUT_FACTOR, GivenLayer, logits
from exercises.softmax import LOGITS, USED_LOGITS, GivenLogits, logit_edge_cases, softmax

TRUE_CLASS = Input("c", "class_index", ("K",), "the true class")

FORGOT_ONE_HOT = Misconception(
    "forgot_one_hot",
    "Your gradient is S itself: subtract the one-hot vector y of the true class, dL/dz = S - y.",
)


def one_hot(c: int, K: int) -> Array:
    y = np.zeros(K)
    y[c] = 1.0
    return y


def cross_entropy_logits_grad(z: Array, c: int) -> Array:
    """dL/dz = S - y, y the one-hot vector of class c."""
    S = softmax(z)
    return S - one_hot(c, S.size)


def cross_entropy_weight_grad(W: Array, x: Array, c: int) -> Array:
    """dL/dW = x (S - y)^T, the shape of W: [j, i] = x_j (S_i - y_i)."""
    return np.outer(x, cross_entropy_logits_grad(logits(W, x), c))


def _sums_to_zero(a: Array, axis: int | None) -> bool:
    with np.errstate(over="ignore", invalid="ignore"):  # entries near 1e308 sum to inf: not zero
        return bool(np.allclose(a.sum(axis=axis), 0.0, atol=1e-2 * max(np.abs(a).max(), 1e-12)))


class CrossEntropyLogitsGrad(GivenLogits):
    name = "cross_entropy_logits_grad"
    title = "Cross-entropy's gradient dL/dz"
    inputs = (LOGITS, TRUE_CLASS)
    misconceptions = (FORGOT_ONE_HOT, USED_LOGITS)

    def _reference(self, instance: Instance) -> Array:
        return cross_entropy_logits_grad(np.asarray(instance["z"], dtype=np.float64), instance["c"])

    def _mistakes(self, instance: Instance) -> dict[str, Array]:
        z = np.asarray(instance["z"], dtype=np.float64)
        y = one_hot(instance["c"], z.size)
        return {"forgot_one_hot": softmax(z), "used_logits": z - y}

    def properties(self, instance: Instance) -> list[Property]:
        c = instance["c"]
        return [
            Property(
                "its entries sum to zero (S sums to 1, and so does y)", lambda a: _sums_to_zero(a, None)
            ),
            Property(
                f"entry {c + 1} (the true class) is the only negative one",
                lambda a: bool(a[c] < 0 and np.all(np.delete(a, c) >= 0)),
            ),
        ]

    def entry_label(self, instance: Instance, index: tuple[int, ...]) -> str:
        return f"dL/dz_{index[0] + 1}"

    def statement(self, instance: Instance) -> Statement:
        z, c = instance["z"], instance["c"]
        K = len(z)
        return Statement(
            text=(
                f"Let z = {vector_text(z)} (K = {K}), S = softmax(z), and let the true class be "
                f"c = {c + 1} (1-based; index {c} counting from 0). The loss is L = -log S_c. "
                f"Compute the gradient dL/dz, a vector of {K} numbers."
            ),
            latex=(
                rf"Let $\mathbf{{z}} = {vector_latex(z)}$ ($K = {K}$), "
                r"$\mathbf{S} = \operatorname{softmax}(\mathbf{z})$, and let the true class be "
                rf"$c = {c + 1}$ (1-based). The loss is $L = -\log S_c$. Compute "
                rf"$\frac{{\partial L}}{{\partial \mathbf{{z}}}} \in \mathbb{{R}}^{{{K}}}$."
            ),
        )

    def edge_cases(self, rng: np.random.Generator) -> list[Instance]:
        cases = []
        for z in logit_edge_cases():
            cases.append({"kind": self.name, "z": z, "c": 0})
            cases.append({"kind": self.name, "z": z, "c": len(z) - 1})
        return cases[:6]


class CrossEntropyWeightGrad(GivenLayer):
    name = "cross_entropy_weight_grad"
    title = "Cross-entropy's gradient dL/dW"
    inputs = (*GivenLayer.inputs, TRUE_CLASS)
    misconceptions = (FORGOT_ONE_HOT, MISSING_INPUT_FACTOR, USED_LOGITS)

    def _reference(self, instance: Instance) -> Array:
        W, x = self._arrays(instance)
        return cross_entropy_weight_grad(W, x, instance["c"])

    def _mistakes(self, instance: Instance) -> dict[str, Array]:
        W, x = self._arrays(instance)
        z = logits(W, x)
        S = softmax(z)
        y = one_hot(instance["c"], S.size)
        return {
            "forgot_one_hot": np.outer(x, S),
            "missing_input_factor": np.broadcast_to(S - y, W.shape).copy(),
            "used_logits": np.outer(x, z - y),
        }

    def properties(self, instance: Instance) -> list[Property]:
        return [
            Property(
                "each row sums to zero (row j is x_j times S - y, whose entries sum to zero)",
                lambda a: _sums_to_zero(a, 1),
            )
        ]

    def entry_label(self, instance: Instance, index: tuple[int, ...]) -> str:
        return f"dL/dW[{index[0] + 1},{index[1] + 1}]"

    def statement(self, instance: Instance) -> Statement:
        W, x, c = instance["W"], instance["x"], instance["c"]
        n, K = len(x), len(W[0])
        return Statement(
            text=(
                f"A softmax layer has inputs x = {vector_text(x)} and weights W = {matrix_text(W)} "
                f"(n = {n} inputs x K = {K} classes), z = W^T x, S = softmax(z). The true class "
                f"is c = {c + 1} (1-based) and L = -log S_c. Compute dL/dW, an {n} x {K} matrix "
                "of the same shape as W: row j, column i holds dL/dW_ji."
            ),
            latex=(
                rf"A softmax layer has inputs $\mathbf{{x}} = {vector_latex(x)}$ and weights "
                rf"$W = {matrix_latex(W)}$, $\mathbf{{z}} = W^\top \mathbf{{x}}$, "
                r"$\mathbf{S} = \operatorname{softmax}(\mathbf{z})$. The true class is "
                rf"$c = {c + 1}$ and $L = -\log S_c$. Compute "
                rf"$\frac{{\partial L}}{{\partial W}} \in \mathbb{{R}}^{{{n} \times {K}}}$, "
                r"the shape of $W$: row $j$, column $i$ holds $\partial L / \partial W_{ji}$."
            ),
        )

    def edge_cases(self, rng: np.random.Generator) -> list[Instance]:
        return [
            {"kind": self.name, "W": [[1000.0, 1001.0, 1002.0]], "x": [1.0], "c": 0},
            {"kind": self.name, "W": [[1000.0, 1001.0, 1002.0]], "x": [1.0], "c": 2},
            {"kind": self.name, "W": [[0.5], [-0.25]], "x": [1.0, 2.0], "c": 0},
            {"kind": self.name, "W": [[0.3, -0.2], [0.4, 0.1]], "x": [0.0, 0.0], "c": 1},
        ]


EXERCISES: tuple[Exercise, ...] = (CrossEntropyLogitsGrad(), CrossEntropyWeightGrad())
