"""The formula grammar: precedence, implicit multiplication, LaTeX, indices, and its limits."""

from __future__ import annotations

import pytest

import exercises
from grader.judge.formulas.latex import MAX_DEPTH
from grader.judge.formulas.lexer import FormulaError
from grader.judge.formulas.parser import MAX_EXPONENT, MAX_SUMS, parse
from grader.judge.formulas.tree import write_plain

LAYER = exercises.get("layer_jacobian").notation
WARMUP = exercises.get("jacobian_warmup").notation
CROSS = exercises.get("cross_entropy_logits_grad").notation


@pytest.mark.parametrize(
    ("text", "read_as"),
    [
        ("S_t (delta_ti - S_i) x_j", "(S_t * (delta_ti - S_i)) * x_j"),
        ("S_t(δ_ti − S_i)x_j", "(S_t * (delta_ti - S_i)) * x_j"),
        ("exp(z_i) / sum_k exp(z_k) + 1", "(exp(z_i) / (sum_k(exp(z_k)))) + 1"),
        ("sum_j W_ji x_j", "sum_j(W_ji * x_j)"),
        (r"\sum_{j=1}^{K} W_{ji} x_j", "sum_{j=1}^(K)(W_ji * x_j)"),
        ("S S^T", "S * (S^T)"),
        ("SS'", "S * (S^T)"),
        ("S_iS_t", "S_i * S_t"),
        ("-S_i^2", "-(S_i^2)"),
        ("2^-1 x_j", "(2^(-1)) * x_j"),
        ("e^z_i", "e^z_i"),
        (r"\frac{1}{2} \cdot x_j", "(1 / 2) * x_j"),
        (r"\exp\left(z_i\right)", "exp(z_i)"),
        (r"\hat{y_t} - \hat{y}_i", "S_t - S_i"),
        ("(i==t) - (i!=t)", "delta_it - (1 - delta_it)"),
        ("h_t x_j", "S_t * x_j"),
        ("softmax(z)_t", "softmax(z)_t"),
        (r"(S_t \delta_{ti})\, x_j", "(S_t * delta_ti) * x_j"),
    ],
)
def test_read_as_makes_every_product_and_group_explicit(text: str, read_as: str) -> None:
    assert write_plain(parse(text, LAYER)) == read_as


def test_the_warm_up_reads_x_1_as_x1_and_e_x1_x2_as_a_product() -> None:
    tree = parse(r"\begin{bmatrix} e^{x_1} & 1 \\ e^x1 x2 & 2 \\ 3 & 4 \end{bmatrix}", WARMUP)
    assert write_plain(tree) == "[[e^x1, 1], [(e^x1) * x2, 2], [3, 4]]"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("S_t (delta_ti - S_i", r"expected '\)'"),
        ("foo(S)", "unknown name 'foo'"),
        ("T", "T transposes"),
        ("delta x_j", "delta needs two indices"),
        ("delta_t x_j", "delta takes two indices"),
        ("sum exp(z_k)", "a sum needs its index"),
        ("2 3", "two numbers side by side"),
        ("x_j^(10^10)", "exponent is too large"),
        ("[[1, 2], [3]]", "different numbers of entries"),
        (r"\begin{align} 1 \end{align}", "unknown environment"),
        ("W_j_i", "a second subscript"),
        ("e_i", "takes no subscript"),
        ("y_i", "not a symbol of this exercise"),
    ],
)
def test_unreadable_formulas_say_why(text: str, message: str) -> None:
    with pytest.raises(FormulaError, match=message) as caught:
        parse(text, LAYER)
    assert caught.value.code == "parse"


def test_limits_on_nesting_sums_and_exponents() -> None:
    with pytest.raises(FormulaError, match="nested too deeply"):
        parse("(" * (MAX_DEPTH + 1) + "x_j" + ")" * (MAX_DEPTH + 1), LAYER)
    assert parse("(" * (MAX_DEPTH - 1) + "x_j" + ")" * (MAX_DEPTH - 1), LAYER)
    with pytest.raises(FormulaError, match="too many sums"):
        parse(" ".join(f"sum_{k}" for k in "abdfg"[: MAX_SUMS + 1]) + " x_j", LAYER)
    assert parse(f"x_j^{MAX_EXPONENT}", LAYER)


@pytest.mark.parametrize(
    ("text", "index"), [("S_t (delta_tm - S_i) x_j", "m"), ("sum_k S_k x_q", "q"), ("S_c", "c")]
)
def test_a_free_index_is_formula_index(text: str, index: str) -> None:
    with pytest.raises(FormulaError, match=f"index {index} is free") as caught:
        parse(text, LAYER)
    assert caught.value.code == "formula_index"


def test_c_and_summed_indices_are_bound() -> None:
    assert write_plain(parse("S_i - delta_ic + sum_k 0 S_k", CROSS)) == "(S_i - delta_ic) + (sum_k(0 * S_k))"
