"""One answer to one verdict: every printed matrix of the articles, pasted; fuzzed text."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import exercises
from exercises import InstanceError
from grader.judge.grading import grade
from tests import articles

LAYER_Z = (np.array(articles.LAYER_W).T @ np.array(articles.LAYER_X)).tolist()

PRINTED = [
    ({"kind": "softmax", "z": LAYER_Z}, articles.LAYER_S_PRINT, (5,)),
    ({"kind": "softmax", "z": articles.STEP_Z}, str(np.array(articles.STEP_S)), (3,)),
    ({"kind": "softmax_jacobian", "z": LAYER_Z}, articles.LAYER_DS_PRINT, (5, 5)),
    (articles.layer_instance("logits_weight_jacobian", "denominator"), articles.LAYER_DZ_PRINT, (15, 5)),
    (articles.layer_instance("layer_jacobian"), articles.LAYER_DL_PRINT, (5, 15)),
    (articles.layer_instance("layer_jacobian"), articles.LAYER_DL_SHORTCUT_PRINT, (5, 15)),
]


@pytest.mark.parametrize(("instance", "printed", "shape"), PRINTED)
def test_every_printed_matrix_of_the_articles_is_correct(instance: dict, printed: str, shape: tuple) -> None:
    verdict = grade(instance, printed, "text")
    assert verdict.correct and verdict.score == 1.0, verdict.feedback
    assert verdict.expected_shape == list(shape)
    label = " x ".join(str(s) for s in shape) if len(shape) == 2 else f"{shape[0]} entries"
    assert label in verdict.read_as


def test_the_articles_numerator_print_against_a_denominator_request_is_a_transpose() -> None:
    verdict = grade(articles.layer_instance("layer_jacobian", "denominator"), articles.LAYER_DL_PRINT, "text")
    assert verdict.codes == ["transpose"]
    assert "denominator layout" in verdict.feedback[0].message


@pytest.mark.parametrize(
    "answer",
    [
        "[[0.0900, 0.2447, 0.6652]]",
        "0.0900\n0.2447\n0.6652",
        r"\begin{bmatrix} 0.0900 \\ 0.2447 \\ 0.6652 \end{bmatrix}",
        "[0.0900; 0.2447; 0.6652]",
    ],
)
def test_a_vector_is_accepted_as_a_row_or_a_column(answer: str) -> None:
    assert grade({"kind": "softmax", "z": articles.STEP_Z}, answer, "text").correct


def test_json_nan_is_not_finite_not_a_crash() -> None:
    verdict = grade({"kind": "softmax", "z": articles.STEP_Z}, "[NaN, 0.2447, Infinity]", "json")
    assert verdict.codes[0] == "not_finite"


def test_unknown_format_and_bad_instance_raise() -> None:
    with pytest.raises(ValueError, match="unknown answer format"):
        grade({"kind": "softmax", "z": [1.0]}, "[1]", "xml")
    with pytest.raises(InstanceError):
        grade({"kind": "softmax"}, "[1]", "text")


def test_verdict_records_what_reproduces_it() -> None:
    instance = exercises.get("cross_entropy_logits_grad").draw(5)
    verdict = grade(instance, "[0, 0, 0]", "json")
    assert verdict.kind == "cross_entropy_logits_grad"
    assert verdict.instance == instance
    assert verdict.format == "json"
    assert verdict.tolerance == {"name": "typed", "rtol": 0.01, "negligible": 0.001}
    assert verdict.catalog_version == exercises.CATALOG_VERSION and verdict.grader_version
    assert 0.0 <= verdict.score <= 1.0


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=300), st.sampled_from(["json", "text"]))
def test_any_text_gets_a_verdict_never_an_exception(text: str, fmt: str) -> None:
    verdict = grade({"kind": "softmax_jacobian", "z": articles.STEP_Z}, text, fmt)
    assert 0.0 <= verdict.score <= 1.0
    assert verdict.correct == (verdict.score == 1.0)
    if not verdict.correct:
        assert verdict.feedback


numbers = st.floats(allow_nan=True, allow_infinity=True, width=64)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.lists(numbers, min_size=1, max_size=5), min_size=1, max_size=5),
    st.sampled_from(sorted(exercises.KINDS)),
)
def test_any_numbers_get_a_verdict(rows: list[list[float]], kind: str) -> None:
    width = len(rows[0])
    text = "\n".join(" ".join(repr(v) for v in (row + [0.0] * width)[:width]) for row in rows)
    verdict = grade(exercises.get(kind).draw(1), text, "text")
    assert 0.0 <= verdict.score <= 1.0 and verdict.feedback
