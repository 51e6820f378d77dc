"""The warm-up Jacobian of the step-by-step article.

f(x1, x2) = (e^x1 + e^x2, e^x1 x2, 4 x1 + 3 x2^3), whose Jacobian is
[[e^x1, e^x2], [e^x1 x2, e^x1], [4, 9 x2^2]].
"""

from __future__ import annotations

import numpy as np

from exercises.base import Array, Exercise, Input, Instance, Misconception, Property, Statement, as_numerator
from exercises.notation import notation

POWER_RULE = Misconception("power_rule", "Check the derivative of 3 x2^3: by the power rule it is 9 x2^2.")


def jacobian_warmup(x1: float, x2: float) -> Array:
    e1, e2 = np.exp(x1), np.exp(x2)
    return np.array(
        [
            [e1, e2],  # d(e^x1 + e^x2)
            [e1 * x2, e1],  # d(e^x1 x2): the product rule
            [4.0, 9.0 * x2**2],  # d(4 x1 + 3 x2^3)
        ]
    )


class JacobianWarmup(Exercise):
    name = "jacobian_warmup"
    title = "Warm-up: a Jacobian of R^2 -> R^3"
    inputs = (Input("x1", "scalar"), Input("x2", "scalar"))
    layouts = ("numerator", "denominator")
    misconceptions = (POWER_RULE,)
    notation = notation("", "", "x1 x2", entry_name="the 3 x 2 matrix")

    def _reference(self, instance: Instance) -> Array:
        return jacobian_warmup(instance["x1"], instance["x2"])

    def _mistakes(self, instance: Instance) -> dict[str, Array]:
        x1, x2 = instance["x1"], instance["x2"]
        forgot_power = jacobian_warmup(x1, x2)
        forgot_power[2, 1] = 3.0 * x2**2
        return {"power_rule": forgot_power}

    def properties(self, instance: Instance) -> list[Property]:
        return [
            Property(
                "the last row's first entry is the constant 4 (d(4 x1)/dx1)",
                lambda a: bool(np.isclose(as_numerator(instance, a)[2, 0], 4.0)),
            )
        ]

    def entry_label(self, instance: Instance, index: tuple[int, ...]) -> str:
        out, var = index if instance.get("layout") != "denominator" else index[::-1]
        return f"dy_{out + 1}/dx_{var + 1}"

    def statement(self, instance: Instance) -> Statement:
        x1, x2 = instance["x1"], instance["x2"]
        if instance.get("layout", "numerator") == "numerator":
            how_text = "a 3 x 2 matrix (numerator layout): row i, column j holds dy_i/dx_j"
            how_latex = (
                r"a $3 \times 2$ matrix (numerator layout): row $i$, column $j$ holds "
                r"$\partial y_i / \partial x_j$"
            )
        else:
            how_text = "a 2 x 3 matrix (denominator layout): row j, column i holds dy_i/dx_j"
            how_latex = (
                r"a $2 \times 3$ matrix (denominator layout): row $j$, column $i$ holds "
                r"$\partial y_i / \partial x_j$"
            )
        return Statement(
            text=(
                "Let f(x1, x2) = (e^x1 + e^x2, e^x1 x2, 4 x1 + 3 x2^3) = (y1, y2, y3). "
                f"Compute its Jacobian at x1 = {x1:g}, x2 = {x2:g}, {how_text}."
            ),
            latex=(
                r"Let $f(x_1, x_2) = \begin{bmatrix} e^{x_1} + e^{x_2} \\ e^{x_1} x_2 \\ "
                r"4 x_1 + 3 x_2^3 \end{bmatrix}$. Compute its Jacobian "
                rf"$\mathbf{{J}}_f$ at $x_1 = {x1:g}$, $x_2 = {x2:g}$: {how_latex}."
            ),
        )

    def edge_cases(self, rng: np.random.Generator) -> list[Instance]:
        return [
            {"kind": self.name, "x1": 0.0, "x2": 0.0, "layout": "numerator"},
            {"kind": self.name, "x1": -3.0, "x2": -2.5, "layout": "numerator"},
            {"kind": self.name, "x1": 5.0, "x2": 10.0, "layout": "numerator"},
        ]


EXERCISES: tuple[Exercise, ...] = (JacobianWarmup(),)
