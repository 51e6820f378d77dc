"""Evaluating formulas over index grids against numpy written out by hand."""

from __future__ import annotations

import numpy as np
import pytest

import exercises
from grader.judge.formulas import evaluate_number
from grader.judge.formulas.evaluate import MAX_ELEMENTS, evaluate
from grader.judge.formulas.grading import symbol_values
from grader.judge.formulas.lexer import FormulaError
from grader.judge.formulas.parser import parse

LAYER = exercises.get("layer_jacobian")
INSTANCE = {
    "kind": "layer_jacobian",
    "W": [[0.1, -0.2, 0.3], [0.4, 0.5, -0.6]],
    "x": [1.5, -2.0],
    "layout": "numerator",
}
VALUES = symbol_values(INSTANCE)


def value_of(text: str, layout: str = "numerator") -> np.ndarray:
    return evaluate(parse(text, LAYER.notation), LAYER.notation, VALUES, layout)


def test_an_entry_formula_fills_the_grid_in_the_kinds_order() -> None:
    S, x = VALUES["S"], VALUES["x"]
    by_hand = np.array(
        [[S[t] * ((t == i) - S[i]) * x[j] for i in range(3) for j in range(2)] for t in range(3)]
    )
    np.testing.assert_allclose(value_of("S_t (delta_ti - S_i) x_j"), by_hand)
    np.testing.assert_allclose(value_of("S_t (delta_ti - S_i) x_j", "denominator"), by_hand.T)


def test_sums_bind_their_index_and_count_what_it_subscripts() -> None:
    z = np.asarray(INSTANCE["W"]).T @ np.asarray(INSTANCE["x"])
    np.testing.assert_allclose(value_of("sum_j W_ji x_j + 0 x_j S_t"), np.repeat(z, 2)[None, :].repeat(3, 0))
    assert value_of("sum_k 1 + 0 x_j S_t S_i")[0, 0] == 3  # K = 3 classes
    assert value_of("sum_{k=2}^{K} 1 + 0 x_j S_t S_i")[0, 0] == 2
    assert value_of("sum_{k=0}^{K-1} 1 + 0 x_j S_t S_i")[0, 0] == 3


def test_matrix_notation() -> None:
    S, x = VALUES["S"], VALUES["x"]
    np.testing.assert_allclose(
        value_of("kron(diag(S) - outer(S, S), x^T)"), np.kron(np.diag(S) - np.outer(S, S), x[None, :])
    )
    np.testing.assert_allclose(value_of("diag(diag(S) S)"), np.diag(S * S))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("S + x", "cannot combine"),
        ("S x", "cannot combine"),
        ("diag(S) S^T", "cannot combine"),
        ("diag(S) + S", "cannot combine"),
        ("sum(S_t) x_j S_i", "takes a vector"),
        ("diag(W)", "diag takes"),
        ("t x_j S_i", "used as a number"),
        ("kron(kron(kron(kron(kron(I, I), I), I), I), kron(I, I))", "too large"),
        ("S_t x_j S_i + S", "still depends on an index"),
    ],
)
def test_what_cannot_be_evaluated_says_why(text: str, message: str) -> None:
    with pytest.raises(FormulaError, match=message):
        value_of(text)
    assert MAX_ELEMENTS >= 10**6


def test_an_index_of_another_size_is_formula_index() -> None:
    with pytest.raises(FormulaError, match="counts the n inputs") as caught:
        value_of("S_j x_j S_t S_i")
    assert caught.value.code == "formula_index"


def test_long_double_keeps_huge_logits_finite() -> None:
    softmax = exercises.get("softmax")
    values = symbol_values({"kind": "softmax", "z": [1000.0, 1001.0]})
    tree = parse("exp(z_i) / sum_k exp(z_k)", softmax.notation)
    assert not np.all(np.isfinite(evaluate(tree, softmax.notation, values)))
    wide = evaluate(tree, softmax.notation, values, dtype=np.longdouble)
    np.testing.assert_allclose(wide, softmax.reference({"z": [1000.0, 1001.0]}))


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("1/3", 1 / 3),
        ("exp(0.3)", np.exp(0.3)),
        ("e^2", np.e**2),
        ("2e", 2 * np.e),
        ("sqrt(2)/2", 0.5**0.5),
        ("9*0.25", 2.25),
        (r"\frac{1}{3}", 1 / 3),
        ("-2^2", -4.0),
        ("10^400", np.inf),
        ("2 pi", 2 * np.pi),
    ],
)
def test_exact_numbers(text: str, value: float) -> None:
    assert evaluate_number(text) == pytest.approx(value)


@pytest.mark.parametrize("text", ["S", "x_1", "1/", "__import__", "2 3", "sum_k 1"])
def test_exact_numbers_refuse_anything_else(text: str) -> None:
    with pytest.raises(FormulaError):
        evaluate_number(text)
