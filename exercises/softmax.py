"""The softmax function and its Jacobian dS/dz."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

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
from exercises.inputs import vector_latex, vector_text
from exercises.notation import notation

LOGITS = Input("z", "vector", ("K",), "the logits")

NOT_NORMALISED = Misconception(
    "not_normalised",
    "You have exp(z_i), shifted or not, without dividing by the sum of exp(z_j): the entries "
    "of softmax(z) sum to 1.",
)
OTHER_INSTANCE = Misconception(
    "other_instance",
    "This is the answer for the articles' worked example, not for your own instance: use your own values.",
)
#: the step-by-step article's worked example: an answer for it is named other_instance
ARTICLE_LOGITS = (1.0, 2.0, 3.0)
DIAGONAL_ONLY = Misconception(
    "diagonal_only",
    "Only the diagonal terms S_i (1 - S_i) are there: the off-diagonal terms -S_i S_j are "
    "missing. dS_i/dz_j is not zero when i and j differ.",
)
OUTER_ONLY = Misconception(
    "outer_only",
    "You have -S_i S_j everywhere: the diag(S) term is missing, so the diagonal should be "
    "S_i (1 - S_i), not -S_i^2.",
)
USED_LOGITS = Misconception(
    "used_logits",
    "You applied the right formula to the logits z instead of the softmax outputs "
    "S = softmax(z): compute S first, then use it.",
)


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


def logit_edge_cases() -> list[list[float]]:
    """Logits that break a naive softmax or a careless Jacobian."""
    return [
        [1000.0, 1001.0, 1002.0],  # exp overflows without the max shift
        [-1000.0, -1001.0, -1002.0, -1003.0],  # exp underflows to 0/0
        [0.5],  # K = 1
        [2.0, 2.0, 2.0],  # ties
        [0.0, 0.0],  # zeros
    ]


class GivenLogits(Exercise):
    """A kind given the logits z themselves."""

    inputs = (LOGITS,)

    def logits(self, instance: Instance) -> Array:
        return np.asarray(instance["z"], dtype=np.float64)


class Softmax(GivenLogits):
    name = "softmax"
    title = "The softmax function"
    misconceptions = (NOT_NORMALISED, OTHER_INSTANCE)
    notation = notation("i", "K", "z K", entry_name="S_i")

    def _reference(self, instance: Instance) -> Array:
        return softmax(instance["z"])

    def _mistakes(self, instance: Instance) -> dict[str, Array]:
        z = np.asarray(instance["z"], dtype=np.float64)
        with np.errstate(over="ignore"):
            unshifted = np.exp(z)  # the grader names it shifted by max z too
        forgot = unshifted if np.all(np.isfinite(unshifted)) else np.exp(z - z.max())
        return {"not_normalised": forgot, **article_answer(self, instance)}

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


class SoftmaxJacobian(GivenLogits):
    name = "softmax_jacobian"
    title = "The Jacobian of softmax, dS/dz"
    layouts = ("numerator", "denominator")
    misconceptions = (DIAGONAL_ONLY, OUTER_ONLY, USED_LOGITS, OTHER_INSTANCE)
    notation = notation("ij", "KK", "z S K", entry_name="dS_i/dz_j")

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
