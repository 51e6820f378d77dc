"""Formula answers graded by evaluation: the articles' formulas in every dress, mistakes named."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import exercises
from exercises import DrawOptions
from grader.judge.formulas import grade_formula
from grader.judge.formulas.grading import hidden_suite
from grader.judge.grading import grade
from grader.judge.verdict import Verdict
from tests import articles

# Every formula the articles derive (and conventions.md "Formula answers"), each in
# plain text, unicode and LaTeX: the same verdict, correct, whatever the dress.
ARTICLE_FORMULAS: dict[str, list[tuple[str, str, str]]] = {
    "softmax": [
        ("exp(z_i) / sum_k exp(z_k)", "e^(z_i) / Σ_k e^(z_k)", r"\frac{e^{z_i}}{\sum_{j=1}^K e^{z_j}}"),
        ("exp(z) / sum(exp(z))", "exp(z) / Σ(exp(z))", r"\frac{\exp(z)}{\operatorname{sum}(\exp(z))}"),
        (
            "S_i = exp(z_i)/sum_j exp(z_j)",
            "σ(z_i) = e^(z_i) / ∑_j e^(z_j)",
            r"\sigma(z_{i})=\frac{e^{z_{i}}} {\sum_{j=1}^K e^{z_{j}}}",
        ),
    ],
    "softmax_jacobian": [
        ("S_i (delta_ij - S_j)", "σ(z_i)(δ_ij − σ(z_j))", r"\sigma(z_i)(\delta_{ij}-\sigma(z_j))"),
        ("diag(S) - S S^T", "diag(S) − S·Sᵀ", r"\operatorname{diag}(S) - S S^\top"),
        (
            "y_hat_i (delta_ij - y_hat_j)",
            "ŷ_i (δ_ij − ŷ_j)",
            r"\frac{\partial y_i}{\partial z_j} = \hat{y}_i \left(\delta_{ij} - \hat{y_j}\right)",
        ),
    ],
    "logits_weight_jacobian": [
        ("delta_ki x_j", "δ_ki x_j", r"\delta_{ki} x_j"),
        ("kron(I, x^T)", "I ⊗ xᵀ", r"I \otimes x^\top"),
        ("(k==i) * x_j", "(k==i)·x_j", r"\left(k==i\right) \cdot x_{j}"),
    ],
    "layer_jacobian": [
        ("S_t (delta_ti - S_i) x_j", "S_t (δ_ti − S_i) x_j", r"S_t \left(\delta_{ti} - S_i\right) x_j"),
        ("S_t((i==t) - S_i) x_j", "S_t((i==t) − S_i)·x_j", r"S_t\left((i==t) - S_i\right) x_j"),
        (
            "kron(diag(S) - S S^T, x^T)",
            "(diag(S) − S Sᵀ) ⊗ xᵀ",
            r"(\mathrm{diag}(S) - S S^{T}) \otimes x^{T}",
        ),
    ],
    "cross_entropy_logits_grad": [
        ("S_i - delta_ic", "S_i − δ_ic", r"S_i - \delta_{ic}"),
        ("S_i - y_i", "ŷ_i − y_i", r"\hat{y}_i - y_i"),
        ("S - y", "ŷ − y", r"\frac{\partial L}{\partial z} = \mathbf{\hat{y}-y}"),
    ],
    "cross_entropy_weight_grad": [
        ("x_j (S_i - y_i)", "x_j (ŷ_i − y_i)", r"x_j \left(\hat{y}_i - y_i\right)"),
        ("x (S - y)^T", "x·(S − y)ᵀ", r"\mathbf{x} (\mathbf{S} - \mathbf{y})^\top"),
    ],
    "jacobian_warmup": [
        (
            "[[e^x1, e^x2], [e^x1 x2, e^x1], [4, 9 x2^2]]",
            "[[e^x1, e^x2], [e^x1·x2, e^x1], [4, 9·x2²]]",
            r"\begin{bmatrix} e^{x_1} && e^{x_2} \\ e^{x_1}x_2 && e^{x_1} \\ 4 && 9 {x_2}^2 \end{bmatrix}",
        ),
    ],
}
CASES = [(kind, formula) for kind, dresses in ARTICLE_FORMULAS.items() for d in dresses for formula in d]


def verdict_of(
    kind: str, formula: str, seed: int = 0, layout: str = "numerator", **values: object
) -> Verdict:
    exercise = exercises.get(kind)
    instance = exercise.draw(seed, DrawOptions(layout=layout)) if not values else {"kind": kind, **values}
    return grade_formula(exercise, exercise.validate(instance), formula, seed=seed)


@pytest.mark.parametrize(("kind", "formula"), CASES)
def test_every_formula_of_the_articles_is_accepted_in_every_dress(kind: str, formula: str) -> None:
    for seed in range(3):
        verdict = verdict_of(kind, formula, seed)
        assert verdict.correct, (formula, verdict.feedback)
        assert verdict.score == 1.0 and verdict.feedback == []
        assert verdict.instances_passed == verdict.instances_total == 9
        assert verdict.read_as


def test_the_three_dresses_read_alike() -> None:
    for kind, dresses in ARTICLE_FORMULAS.items():
        for dress in dresses:
            verdicts = [verdict_of(kind, formula, 5) for formula in dress]
            assert {(v.correct, v.score, tuple(v.codes)) for v in verdicts} == {(True, 1.0, ())}, kind


def test_the_articles_own_instances() -> None:
    layer = grade_formula(
        exercises.get("layer_jacobian"), articles.layer_instance("layer_jacobian"), "S_t (δ_ti − S_i) x_j"
    )
    step = verdict_of("softmax_jacobian", "S_i (delta_ij - S_j)", z=articles.STEP_Z)
    assert layer.correct and step.correct


@pytest.mark.parametrize(
    ("kind", "formula"),
    [
        ("softmax_jacobian", "S_i (delta_ij - S_j)"),
        ("layer_jacobian", "S_t (delta_ti - S_i) x_j"),
        ("logits_weight_jacobian", "delta_ki x_j"),
        ("jacobian_warmup", "[[e^x1, e^x1 x2, 4], [e^x2, e^x1, 9 x2^2]]"),
    ],
)
def test_an_entry_formula_fits_either_layout_and_a_matrix_is_taken_as_written(
    kind: str, formula: str
) -> None:
    verdict = verdict_of(kind, formula, 1, layout="denominator")
    assert verdict.correct, verdict.feedback


# A misconception on a formula, for every kind it applies to: (kind, formula, code).
MISTAKES = [
    ("softmax", "exp(z_i)", "not_normalised"),
    ("softmax", "exp(z_i - max(z))", "not_normalised"),
    ("softmax", "-exp(z_i) / sum_k exp(z_k)", "sign"),
    ("softmax_jacobian", "S_i (1 - S_i) delta_ij", "diagonal_only"),
    ("softmax_jacobian", "-S_i S_j", "outer_only"),
    ("softmax_jacobian", "z_i (delta_ij - z_j)", "used_logits"),
    ("softmax_jacobian", "S_i (S_j - delta_ij)", "sign"),
    ("layer_jacobian", "S_t (delta_ti - S_i)", "missing_input_factor"),
    ("layer_jacobian", "S_t (1 - S_t) delta_ti x_j", "diagonal_only"),
    ("layer_jacobian", "-S_t S_i x_j", "outer_only"),
    ("layer_jacobian", "z_t (delta_ti - z_i) x_j", "used_logits"),
    ("layer_jacobian", "kron(diag(S) - S S^T, x^T)^T", "transpose"),
    ("layer_jacobian", "kron(diag(S) - S S^T, x)", "transpose"),
    ("layer_jacobian", "kron(x^T, diag(S) - S S^T)", "vec_order"),
    ("layer_jacobian", "S_t (S_i - delta_ti) x_j", "sign"),
    ("logits_weight_jacobian", "kron(I, x)", "transpose"),
    ("logits_weight_jacobian", "kron(x^T, I)", "vec_order"),
    ("logits_weight_jacobian", "-delta_ki x_j", "sign"),
    ("cross_entropy_logits_grad", "S_i", "forgot_one_hot"),
    ("cross_entropy_logits_grad", "z_i - y_i", "used_logits"),
    ("cross_entropy_logits_grad", "y - S", "sign"),
    ("cross_entropy_weight_grad", "x_j S_i", "forgot_one_hot"),
    ("cross_entropy_weight_grad", "S_i - y_i", "missing_input_factor"),
    ("cross_entropy_weight_grad", "x_j (z_i - y_i)", "used_logits"),
    ("cross_entropy_weight_grad", "(S - y) x^T", "transpose"),
    ("cross_entropy_weight_grad", "x (y - S)^T", "sign"),
    ("jacobian_warmup", "[[e^x1, e^x2], [e^x1 x2, e^x1], [4, 3 x2^2]]", "power_rule"),
    ("jacobian_warmup", "[[e^x1, e^x1 x2, 4], [e^x2, e^x1, 9 x2^2]]", "transpose"),
    ("jacobian_warmup", "-[[e^x1, e^x2], [e^x1 x2, e^x1], [4, 9 x2^2]]", "sign"),
]


@pytest.mark.parametrize(("kind", "formula", "code"), MISTAKES)
def test_each_misconception_is_named_on_a_formula(kind: str, formula: str, code: str) -> None:
    for seed in range(4):
        verdict = verdict_of(kind, formula, seed)
        assert not verdict.correct and verdict.score < 1
        assert verdict.codes[0] == code, (seed, verdict.feedback)
        assert "formula" in verdict.feedback[0].message or code in ("sign",)
        assert verdict.read_as


def test_right_on_the_given_instance_but_hard_coded_is_wrong_and_shows_where() -> None:
    for formula in ("exp(z_i)/(e^{z_1}+e^{z_2}+e^{z_3})", r"\frac{e^{z_i}}{\sum_{j=1}^3 e^{z_j}}"):
        verdict = verdict_of("softmax", formula, z=articles.STEP_Z)
        assert not verdict.correct, formula
        failed = verdict.failed_instance
        assert failed is not None and failed["given"] is False
        assert len(failed["instance"]["z"]) != 3 and "expected" in failed
        assert "right on your instance but" in verdict.feedback[0].message
        assert verdict.instance == {"kind": "softmax", "z": articles.STEP_Z}
        # a hidden instance may show its expected values; the given one never does
        assert verdict.without_answers().failed_instance["expected"] == failed["expected"]


def test_numbers_typed_in_are_wrong_at_another_size() -> None:
    numbers = (
        "["
        + ", ".join(repr(float(v)) for v in exercises.get("softmax").reference({"z": articles.STEP_Z}))
        + "]"
    )
    verdict = verdict_of("softmax", numbers, z=articles.STEP_Z)
    assert not verdict.correct and verdict.codes == ["shape"]
    assert verdict.instances_passed == 1


def test_the_hidden_suite_has_every_size_and_comes_again_from_its_seed() -> None:
    exercise = exercises.get("layer_jacobian")
    instance = exercise.draw(0)
    suite = hidden_suite(exercise, instance, 42)
    assert {len(i["W"][0]) for i in suite} == set(range(1, 7))
    assert {len(i["x"]) for i in suite} <= set(range(1, 5))
    assert suite == hidden_suite(exercise, instance, 42)
    assert verdict_of("layer_jacobian", "S_t (delta_ti - S_i) x_j", 7).suite_seed == 7


@pytest.mark.parametrize(
    ("kind", "formula", "named"),
    [
        ("softmax_jacobian", "S_i (delta_ik - S_k)", "k"),
        ("layer_jacobian", "S_t (delta_tm - S_i) x_j", "m"),
        ("jacobian_warmup", "[[e^x_i, 1], [1, 1], [1, 1]]", "i"),
        ("cross_entropy_logits_grad", "S_i - y_j", "j"),
        ("softmax", "exp(z_c)", "c"),
    ],
)
def test_an_index_the_entry_lacks_is_named(kind: str, formula: str, named: str) -> None:
    verdict = verdict_of(kind, formula)
    assert verdict.codes == ["formula_index"]
    assert f"index {named}" in verdict.feedback[0].message


def test_an_index_of_the_wrong_size_is_an_index_problem() -> None:
    exercise = exercises.get("layer_jacobian")
    instance = exercise.draw(0, DrawOptions(n=2, K=3))
    verdict = grade_formula(exercise, instance, "S_t (delta_ti - S_i) x_i", seed=0)
    assert verdict.codes == ["formula_index"] and "x" in verdict.feedback[0].message


def test_huge_logits_given_by_the_caller_are_still_right() -> None:
    verdict = verdict_of("softmax", "exp(z_i) / sum_k exp(z_k)", z=[1000.0, 1001.0, 1002.0])
    assert verdict.correct, verdict.feedback


@pytest.mark.parametrize(
    ("text", "position"),
    [("S_i (delta_ij - S_j", 19), ("S_i ** ", 7), ("S_i # 2", 4), ("", None)],
)
def test_unreadable_formulas_are_parse_verdicts_with_the_place(text: str, position: int | None) -> None:
    verdict = verdict_of("softmax_jacobian", text)
    assert verdict.codes == ["parse"] and verdict.score == 0.0
    assert verdict.parse_position == position


INJECTIONS = [
    "__import__('os').system('true')",
    "().__class__.__bases__[0].__subclasses__()",
    "S.__class__",
    "lambda: 0",
    "(lambda x: x)(S)",
    "exec('1')",
    "eval('1')",
    "open('/etc/passwd')",
    "S_i; import os",
    "__builtins__",
    "10^10^10",
    "2**99999",
    "e^{10^{10}}",
    "(" * 5000 + "S_i" + ")" * 5000,
    "-" * 3000 + "S_i",
    "S_i" + " + S_i" * 400,
    "x" * 2001,
    "{" * 100 + "S_i" + "}" * 100,
    "\\frac{" * 60 + "1" + "}{2}" * 60,
]


@pytest.mark.parametrize("text", INJECTIONS, ids=range(len(INJECTIONS)))
@settings(deadline=timedelta(seconds=1), max_examples=1)
@given(st.none())
def test_the_injection_corpus_gets_parse_verdicts(text: str, _: None) -> None:
    verdict = verdict_of("softmax_jacobian", text)
    assert verdict.codes in (["parse"],), verdict.feedback
    assert not verdict.correct


def test_through_grade_the_format_is_formula_and_timed() -> None:
    verdict = grade({"kind": "softmax_jacobian", "z": [1, 2, 3]}, "diag(S) - S S^T", "formula", seed=1)
    assert verdict.correct and verdict.format == "formula" and "grading" in verdict.timings_ms
    assert verdict.read_as == "diag(S) - (S * (S^T))"


# ---- properties ----------------------------------------------------------------------

KIND = st.sampled_from(sorted(exercises.KINDS))
PIECES = st.sampled_from(
    [
        "S_i",
        "S_j",
        "z_i",
        "x_j",
        "y_i",
        "delta_ij",
        "δ_ti",
        "S",
        "x",
        "I",
        "e",
        "2",
        "0.5",
        "K",
        "exp(z)",
        "diag(S)",
        "sum_k z_k",
        "x1",
        "x2",
        "S^T",
        "W",
        "W_ji",
    ]
)


@st.composite
def formulas(draw: st.DrawFn, depth: int = 3) -> str:
    if depth == 0 or draw(st.booleans()):
        return draw(PIECES)
    left, right = draw(formulas(depth - 1)), draw(formulas(depth - 1))
    form = draw(
        st.sampled_from(
            [
                "{} + {}",
                "{} - {}",
                "{} {}",
                "{} / {}",
                "({})^2",
                "exp({})",
                "{} * ({})",
                r"\frac{{{}}}{{{}}}",
                "sum_k ({} {})",
                "kron({}, {})",
                "[[{}, {}]]",
            ]
        )
    )
    return form.format(left, right) if form.count("{}") == 2 else form.format(left)


SETTINGS = settings(
    deadline=timedelta(seconds=1), max_examples=150, suppress_health_check=[HealthCheck.too_slow]
)


@SETTINGS
@given(KIND, st.text(max_size=80))
def test_random_text_is_only_ever_a_verdict(kind: str, text: str) -> None:
    verdict = verdict_of(kind, text)
    assert isinstance(verdict, Verdict) and 0.0 <= verdict.score <= 1.0
    assert verdict.correct or verdict.feedback


@SETTINGS
@given(KIND, formulas())
def test_random_well_formed_formulas_are_only_ever_verdicts(kind: str, text: str) -> None:
    verdict = verdict_of(kind, text)
    assert isinstance(verdict, Verdict) and 0.0 <= verdict.score <= 1.0
    assert verdict.correct or verdict.feedback
    assert np.isfinite(verdict.score)
