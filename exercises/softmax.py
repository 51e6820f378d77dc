"""The softmax function and its Jacobian dS/dz."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from exercises.base import (
    Array,
    DrawOptions,
    Exercise,
    Instance,
    Property,
    Statement,
    as_numerator,
    rounded,
    vector_latex,
    vector_text,
)
from exercises.notation import notation

DEFAULT_K = (3, 6)  # K is drawn in [3, 6) unless the options fix it
#: the step-by-step article's worked example: an answer for it is named other_instance
ARTICLE_LOGITS = (1.0, 2.0, 3.0)


def softmax(z: npt.ArrayLike) -> Array:
    """S = exp(z) / sum exp(z), computed as exp(z - max z) so that no term overflows."""
    z = np.asarray(z, dtype=np.float64)
    e = np.exp(z - z.max())
    return e / e.sum()


def softmax_jacobian(z: npt.ArrayLike) -> Array:
    """dS_i/dz_j = S_i (delta_ij - S_j), i.e. diag(S) - S S^T."""
    S = softmax(z)
    return np.diag(S) - np.outer(S, S)


def article_answer(exercise: Exercise, instance: Instance) -> dict[str, Array]:
    """The answer for the article's worked example, where it has the instance's shape."""
    if len(instance["z"]) != len(ARTICLE_LOGITS):
        return {}
    article = {**instance, "z": list(ARTICLE_LOGITS)}
    return {"other_instance": as_numerator(article, exercise.reference(article))}


def draw_logits(rng: np.random.Generator, options: DrawOptions) -> list[float]:
    K = options.K or int(rng.integers(*DEFAULT_K))
    return rounded(rng, (K,), options).tolist()


def logit_edge_cases() -> list[list[float]]:
    """Logits that break a naive softmax or a careless Jacobian."""
    return [
        [1000.0, 1001.0, 1002.0],  # exp overflows without the max shift
        [-1000.0, -1001.0, -1002.0, -1003.0],  # exp underflows to 0/0
        [0.5],  # K = 1
        [2.0, 2.0, 2.0],  # ties
        [0.0, 0.0],  # zeros
    ]


class Softmax(Exercise):
    name = "softmax"
    title = "The softmax function"
    given = ("z",)
    notation = notation("i", "K", "z K", entry_name="S_i")

    def _draw_values(self, rng: np.random.Generator, options: DrawOptions) -> dict[str, Any]:
        return {"z": draw_logits(rng, options)}

    def _reference(self, instance: Instance) -> Array:
        return softmax(instance["z"])

    def _mistakes(self, instance: Instance) -> dict[str, Array]:
        z = np.asarray(instance["z"])
        return {"not_normalised": np.exp(z - z.max()), **article_answer(self, instance)}

    def properties(self, instance: Instance) -> list[Property]:
        return [
            Property("its entries sum to 1", lambda a: bool(np.isclose(a.sum(), 1.0, rtol=1e-2))),
            Property("every entry lies between 0 and 1", lambda a: bool(np.all((a >= 0) & (a <= 1)))),
        ]

    def entry_label(self, instance: Instance, index: tuple[int, ...]) -> str:
        return f"S_{index[0] + 1}"

    def statement(self, instance: Instance) -> Statement:
        z = vector_text(instance["z"])
        K = len(instance["z"])
        return Statement(
            text=(
                f"Let z = {z} (K = {K}). Compute S = softmax(z), the vector with entries "
                f"S_i = exp(z_i) / sum_j exp(z_j). Answer with a vector of {K} numbers."
            ),
            latex=(
                rf"Let $\mathbf{{z}} = {vector_latex(instance['z'])}$ ($K = {K}$). Compute "
                r"$\mathbf{S} = \operatorname{softmax}(\mathbf{z})$, where "
                r"$S_i = \frac{e^{z_i}}{\sum_{j=1}^{K} e^{z_j}}$. "
                rf"Answer with a vector of ${K}$ numbers."
            ),
        )

    def edge_cases(self, rng: np.random.Generator) -> list[Instance]:
        return [{"kind": self.name, "z": z} for z in logit_edge_cases()]


class SoftmaxJacobian(Exercise):
    name = "softmax_jacobian"
    title = "The Jacobian of softmax, dS/dz"
    given = ("z",)
    notation = notation("ij", "KK", "z S K", entry_name="dS_i/dz_j")
    layouts = ("numerator", "denominator")

    def _draw_values(self, rng: np.random.Generator, options: DrawOptions) -> dict[str, Any]:
        return {"z": draw_logits(rng, options)}

    def _reference(self, instance: Instance) -> Array:
        return softmax_jacobian(instance["z"])

    def _mistakes(self, instance: Instance) -> dict[str, Array]:
        z = np.asarray(instance["z"], dtype=np.float64)
        S = softmax(z)
        return {
            "diagonal_only": np.diag(S * (1 - S)),
            "outer_only": -np.outer(S, S),
            "used_logits": np.diag(z) - np.outer(z, z),
            **article_answer(self, instance),
        }

    def properties(self, instance: Instance) -> list[Property]:
        return [
            Property(
                "each row sums to zero (the entries of S always sum to 1)",
                lambda a: bool(np.allclose(a.sum(axis=1), 0.0, atol=1e-2 * np.abs(a).max())),
            ),
            Property(
                "it is symmetric (dS_i/dz_j = dS_j/dz_i = -S_i S_j off the diagonal)",
                lambda a: bool(np.allclose(a, a.T, rtol=1e-2, atol=1e-3 * np.abs(a).max())),
            ),
            Property(
                "its diagonal entries S_i (1 - S_i) are positive",
                lambda a: bool(np.all(np.diag(a) >= 0)),
            ),
        ]

    def entry_label(self, instance: Instance, index: tuple[int, ...]) -> str:
        i, j = index if instance.get("layout") != "denominator" else index[::-1]
        return f"dS_{i + 1}/dz_{j + 1}"

    def statement(self, instance: Instance) -> Statement:
        K = len(instance["z"])
        layout = instance.get("layout", "numerator")
        if layout == "numerator":
            how_text = "row i, column j holds dS_i/dz_j (numerator layout)"
            how_latex = r"row $i$, column $j$ holds $\partial S_i / \partial z_j$ (numerator layout)"
        else:
            how_text = "row j, column i holds dS_i/dz_j (denominator layout)"
            how_latex = r"row $j$, column $i$ holds $\partial S_i / \partial z_j$ (denominator layout)"
        return Statement(
            text=(
                f"Let z = {vector_text(instance['z'])} (K = {K}) and S = softmax(z). "
                f"Compute the Jacobian dS/dz, a {K} x {K} matrix: {how_text}. "
                "Subscripts are 1-based."
            ),
            latex=(
                rf"Let $\mathbf{{z}} = {vector_latex(instance['z'])}$ ($K = {K}$) and "
                r"$\mathbf{S} = \operatorname{softmax}(\mathbf{z})$. Compute the Jacobian "
                r"$\frac{\partial \mathbf{S}}{\partial \mathbf{z}} "
                rf"\in \mathbb{{R}}^{{{K} \times {K}}}$: "
                f"{how_latex}."
            ),
        )

    def edge_cases(self, rng: np.random.Generator) -> list[Instance]:
        return [{"kind": self.name, "z": z, "layout": "numerator"} for z in logit_edge_cases()]


EXERCISES: tuple[Exercise, ...] = (Softmax(), SoftmaxJacobian())
