"""Follow-through: a later part right for the student's own wrong earlier part earns a share."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import exercises
from exercises.chains import CHAINS, truth
from grader import cli
from grader.judge.follow_through import SHARE_DEFAULT, EarlierAnswer
from grader.judge.grading import grade
from tests.articles import LAYER_W, LAYER_X

ARTICLE_Z = [1.0, 2.0, 3.0]
LAYER = {"W": LAYER_W, "x": LAYER_X}

#: (later kind, instance values, the earlier kind made wrong)
CASES = [
    ("softmax_jacobian", {"z": ARTICLE_Z}, "softmax"),
    ("cross_entropy_logits_grad", {"z": ARTICLE_Z, "c": 1}, "softmax"),
    ("layer_jacobian", LAYER, "softmax_jacobian"),
    ("layer_jacobian", LAYER, "logits_weight_jacobian"),
    ("cross_entropy_weight_grad", {**LAYER, "c": 2}, "cross_entropy_logits_grad"),
]


def wrong(kind: str, instance: dict[str, Any]) -> np.ndarray:
    """A wrong but real earlier answer: the truth with one entry changed."""
    array = truth(kind, instance).copy()
    array.flat[0] += 0.25
    return array


def implied(later: str, instance: dict[str, Any], theirs: dict[str, np.ndarray]) -> np.ndarray:
    chain = CHAINS[later]
    parts = {kind: theirs.get(kind, truth(kind, instance)) for kind in chain.sources}
    return chain.build(instance, parts)


def as_text(array: np.ndarray) -> str:
    return json.dumps(array.tolist())


def grade_with(later: str, values: dict[str, Any], answer: np.ndarray, earlier: dict[str, str], **kw: Any):
    instance = {"kind": later, **values}
    parts = [EarlierAnswer(kind, text) for kind, text in earlier.items()]
    return grade(instance, as_text(answer), "json", earlier=parts, **kw)


@pytest.mark.parametrize(("later", "values", "source"), CASES)
def test_a_later_part_right_for_a_wrong_earlier_part_earns_follow_through(later, values, source):
    instance = exercises.validate({"kind": later, **values})[1]
    theirs = {source: wrong(source, instance)}
    verdict = grade_with(later, values, implied(later, instance, theirs), {source: as_text(theirs[source])})
    assert verdict.correct is False
    assert verdict.score == SHARE_DEFAULT
    assert verdict.codes == ["follow_through"]
    assert verdict.follow_through == {"from": [source], "share": SHARE_DEFAULT}
    assert "earlier part" in verdict.feedback[0].message and "fix" in verdict.feedback[0].message
    payload = json.loads(verdict.model_dump_json())
    assert payload["follow_through"]["from"] == [source]


@pytest.mark.parametrize(("later", "values", "source"), CASES)
def test_the_same_later_answer_without_the_earlier_part_is_just_wrong(later, values, source):
    instance = exercises.validate({"kind": later, **values})[1]
    answer = implied(later, instance, {source: wrong(source, instance)})
    verdict = grade_with(later, values, answer, {})
    assert verdict.correct is False and verdict.follow_through is None
    assert "follow_through" not in verdict.codes


@pytest.mark.parametrize(
    "earlier_text",
    ["", "hello", "[0, 0, 0]", "[0.5, 0.5, 0.5]", "[[0.1, 0.2], [0.3, 0.4]]", "[1, NaN, 2]"],
    ids=["empty", "unreadable", "zeros", "constant", "wrong-shape", "not-finite"],
)
def test_no_real_attempt_upstream_buys_nothing(earlier_text):
    values = {"z": ARTICLE_Z}
    instance = exercises.validate({"kind": "softmax_jacobian", **values})[1]
    try:
        S = np.array(json.loads(earlier_text), dtype=float)
    except ValueError:
        S = np.array([1.0, 2.0, 4.0])
    answer = np.diag(S) - np.outer(S, S) if S.ndim == 1 and S.size == 3 else truth("softmax", instance)
    verdict = grade_with("softmax_jacobian", values, answer, {"softmax": earlier_text})
    assert verdict.follow_through is None
    assert verdict.score < SHARE_DEFAULT


def test_a_later_answer_that_is_no_attempt_gets_nothing_from_a_wrong_earlier_part():
    values = {"z": ARTICLE_Z, "c": 0}
    earlier = {"softmax": "[0.2, 0.3, 0.5]"}
    for answer in (np.zeros(3), np.full(3, 0.4)):
        verdict = grade_with("cross_entropy_logits_grad", values, answer, earlier)
        assert verdict.follow_through is None


def test_a_right_earlier_part_and_a_wrong_later_one_is_no_follow_through():
    values = {"z": ARTICLE_Z}
    instance = exercises.validate({"kind": "softmax_jacobian", **values})[1]
    S = truth("softmax", instance)
    verdict = grade_with("softmax_jacobian", values, np.diag(S * (1 - S)), {"softmax": as_text(S)})
    assert verdict.follow_through is None
    assert "diagonal_only" in verdict.codes


def test_a_right_later_part_is_right_whatever_came_before():
    values = {"z": ARTICLE_Z}
    instance = exercises.validate({"kind": "softmax_jacobian", **values})[1]
    verdict = grade_with("softmax_jacobian", values, truth("softmax_jacobian", instance),
                         {"softmax": "[0.2, 0.3, 0.5]"})
    assert verdict.correct is True and verdict.score == 1.0 and verdict.follow_through is None


def test_both_earlier_parts_of_the_layer_wrong_are_both_named():
    instance = exercises.validate({"kind": "layer_jacobian", **LAYER})[1]
    theirs = {kind: wrong(kind, instance) for kind in CHAINS["layer_jacobian"].sources}
    earlier = {kind: as_text(array) for kind, array in theirs.items()}
    verdict = grade_with("layer_jacobian", LAYER, implied("layer_jacobian", instance, theirs), earlier)
    assert verdict.follow_through["from"] == ["softmax_jacobian", "logits_weight_jacobian"]
    assert "dS/dz" in verdict.feedback[0].message and "dz/dvec(W)" in verdict.feedback[0].message


def test_denominator_layout_reads_both_parts_in_that_layout():
    values = {**LAYER, "layout": "denominator"}
    instance = exercises.validate({"kind": "layer_jacobian", **values})[1]
    theirs = {"logits_weight_jacobian": wrong("logits_weight_jacobian", instance)}
    later = implied("layer_jacobian", instance, theirs)
    earlier = {"logits_weight_jacobian": as_text(theirs["logits_weight_jacobian"].T)}
    verdict = grade_with("layer_jacobian", values, later.T, earlier)
    assert verdict.follow_through == {"from": ["logits_weight_jacobian"], "share": SHARE_DEFAULT}


def test_the_share_is_set_by_the_caller():
    values = {"z": ARTICLE_Z}
    S = np.array([0.2, 0.3, 0.5])
    verdict = grade_with("softmax_jacobian", values, np.diag(S) - np.outer(S, S),
                         {"softmax": as_text(S)}, share=0.5)
    assert verdict.score == 0.5


@settings(max_examples=60, deadline=None)
@given(
    z=st.lists(st.floats(-5, 5, allow_nan=False), min_size=2, max_size=6),
    noise=st.lists(st.sampled_from([0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 1.0]), min_size=6, max_size=6,
                   unique=True),
)
def test_follow_through_never_scores_full_marks(z, noise):
    values = {"z": z}
    instance = exercises.validate({"kind": "softmax_jacobian", **values})[1]
    S = truth("softmax", instance) + np.array(noise[: len(z)])
    verdict = grade_with("softmax_jacobian", values, np.diag(S) - np.outer(S, S), {"softmax": as_text(S)})
    assert verdict.correct is False and verdict.score < 1
    assert verdict.follow_through is not None


def test_cli_takes_earlier_parts(tmp_path, capsys):
    (tmp_path / "instance.json").write_text(json.dumps({"kind": "softmax_jacobian", "z": ARTICLE_Z}))
    S = np.array([0.2, 0.3, 0.5])
    (tmp_path / "answer.txt").write_text(as_text(np.diag(S) - np.outer(S, S)))
    (tmp_path / "s.txt").write_text("[0.2 0.3 0.5]")
    status = cli.main(["check", "--instance", str(tmp_path / "instance.json"), "--answer",
                       str(tmp_path / "answer.txt"), "--format", "json", "--json",
                       "--earlier", f"softmax={tmp_path / 's.txt'}"])
    verdict = json.loads(capsys.readouterr().out)
    assert status == 0
    assert verdict["follow_through"]["from"] == ["softmax"] and verdict["score"] == SHARE_DEFAULT


@pytest.mark.parametrize("option", ["softmax", "nope=x.txt", "softmax=missing.txt", "=x"])
def test_cli_refuses_unusable_earlier_options(tmp_path, capsys, option):
    (tmp_path / "instance.json").write_text(json.dumps({"kind": "softmax_jacobian", "z": ARTICLE_Z}))
    (tmp_path / "answer.txt").write_text("[[1]]")
    status = cli.main(["check", "--instance", str(tmp_path / "instance.json"), "--answer",
                       str(tmp_path / "answer.txt"), "--format", "json", "--earlier", option])
    captured = capsys.readouterr()
    assert status == 2 and captured.out == ""
    assert "earlier" in captured.err and len(captured.err.strip().splitlines()) == 1


def test_check_api_takes_earlier_parts(client, people):
    S = np.array([0.2, 0.3, 0.5])
    response = client.post(
        "/api/v1/check",
        json={"instance": {"kind": "cross_entropy_logits_grad", "z": ARTICLE_Z, "c": 2},
              "answer": as_text(S - np.array([0, 0, 1.0])), "format": "json",
              "earlier": {"softmax": {"answer": "0.2 0.3 0.5"}}},
        headers=people["alice"].headers,
    )
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["follow_through"] == {"from": ["softmax"], "share": SHARE_DEFAULT}
    assert [f["code"] for f in body["feedback"]] == ["follow_through"]


def test_check_api_refuses_an_earlier_part_of_an_unknown_kind(client, people):
    response = client.post(
        "/api/v1/check",
        json={"instance": {"kind": "softmax_jacobian", "z": ARTICLE_Z}, "answer": "[[1]]",
              "format": "json", "earlier": {"nope": {"answer": "1"}}},
        headers=people["alice"].headers,
    )
    assert response.status_code == 422
    assert "nope" in response.get_json()["error"]["message"]


def test_formulas_follow_through_from_a_formula_or_a_typed_earlier_part():
    values = {"z": ARTICLE_Z}
    # their S forgot the division: exp(z); their dS/dz is right for it
    verdict = grade({"kind": "softmax_jacobian", **values}, "diag(exp(z)) - exp(z) exp(z)^T", "formula",
                    earlier=[EarlierAnswer("softmax", "exp(z_i)", "formula")], seed=1)
    assert verdict.codes == ["follow_through"] and verdict.score == SHARE_DEFAULT
    typed = as_text(np.exp(np.asarray(ARTICLE_Z)))
    verdict = grade({"kind": "softmax_jacobian", **values}, "diag(exp(z)) - exp(z) exp(z)^T", "formula",
                    earlier=[EarlierAnswer("softmax", typed, "auto")], seed=1)
    assert verdict.codes == ["follow_through"]
    right = grade({"kind": "softmax_jacobian", **values}, "S_i (delta_ij - S_j)", "formula",
                  earlier=[EarlierAnswer("softmax", "exp(z_i)", "formula")], seed=1)
    assert right.correct and right.score == 1.0
