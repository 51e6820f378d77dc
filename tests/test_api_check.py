"""Stateless grading, the catalog and previews."""

from __future__ import annotations

import pytest

import exercises
from tests.conftest import sqlite_only

ARTICLE_Z = [1.0, 2.0, 3.0]


def test_check_grades_without_storing(client, people, build):
    import json

    import sqlalchemy as sa

    from grader.service.models import Submission

    instance = {"kind": "softmax", "z": ARTICLE_Z}
    answer = json.dumps([0.09003057, 0.24472847, 0.66524096])
    response = client.post("/api/v1/check", json={"instance": instance, "answer": answer,
                                                  "format": "json"},
                           headers=people["alice"].headers)
    assert response.status_code == 200
    assert response.get_json()["correct"] is True
    with build.sessionmaker() as session:
        assert session.scalar(sa.select(sa.func.count(Submission.id))) == 0


def test_check_names_a_transpose(client, people):
    instance = {"kind": "jacobian_warmup", "x1": 0.3, "x2": -0.5}
    exercise, normal = exercises.validate(instance)
    answer = str(exercise.reference(normal).T.tolist())
    body = client.post("/api/v1/check", json={"instance": instance, "answer": answer,
                                              "format": "text"},
                       headers=people["alice"].headers).get_json()
    assert body["correct"] is False
    assert "transpose" in [f["code"] for f in body["feedback"]]


@pytest.mark.parametrize(
    ("instance", "mentions"),
    [
        ({"kind": "nope"}, "unknown kind"),
        ({"kind": "softmax"}, "z"),
        ({"kind": "cross_entropy_logits_grad", "z": [1, 2], "c": 5}, "out of range"),
        ({"kind": "layer_jacobian", "W": [[1, 2], [3]], "x": [1, 2]}, "ragged"),
    ],
)
def test_check_refuses_unusable_instances(client, people, instance, mentions):
    response = client.post("/api/v1/check", json={"instance": instance, "answer": "[1]",
                                                  "format": "json"},
                           headers=people["alice"].headers)
    assert response.status_code == 422
    assert mentions in response.get_json()["error"]["message"]


def test_check_needs_a_token(client):
    response = client.post("/api/v1/check", json={"instance": {"kind": "softmax", "z": [1]},
                                                  "answer": "[1]", "format": "json"})
    assert response.status_code in (400, 401)  # no token: a browser form without CSRF is a 400


def test_kinds_lists_the_catalog(client, people):
    body = client.get("/api/v1/kinds", headers=people["alice"].headers).get_json()
    assert {k["kind"] for k in body["kinds"]} == set(exercises.KINDS)
    layer = next(k for k in body["kinds"] if k["kind"] == "layer_jacobian")
    assert layer["signature"] == "layer_jacobian(W, x)"
    weight_grad = next(k for k in body["kinds"] if k["kind"] == "cross_entropy_weight_grad")
    assert [(i["name"], i["type"], i["size"]) for i in weight_grad["inputs"]] == [
        ("W", "matrix", ["n", "K"]),
        ("x", "vector", ["n"]),
        ("c", "class_index", ["K"]),
    ]
    assert layer["formula"] == {"entry": "dS_t/dW_ji", "indices": ["t", "i", "j"],
                                "symbols": ["K", "S", "W", "n", "x", "z"]}


def test_preview_draws_an_instance(client, people):
    body = {"kind": "layer_jacobian", "n": 2, "K": 4, "seed": 7}
    first = client.post("/api/v1/preview", json=body, headers=people["teacher"].headers)
    assert first.status_code == 200
    again = client.post("/api/v1/preview", json=body, headers=people["teacher"].headers)
    assert first.get_json() == again.get_json()
    assert len(first.get_json()["instance"]["W"][0]) == 4
    bad = client.post("/api/v1/preview", json={"kind": "softmax", "layout": "denominator"},
                      headers=people["teacher"].headers)
    assert bad.status_code == 422


def test_check_shows_expected_values_to_instructors_only(client, people):
    instance = {"kind": "softmax", "z": ARTICLE_Z}
    body = {"instance": instance, "answer": "[0.09, 0.5, 0.66]", "format": "json"}
    student = client.post("/api/v1/check", json=body, headers=people["alice"].headers).get_json()
    teacher = client.post("/api/v1/check", json=body, headers=people["teacher"].headers).get_json()
    assert student["wrong_entries"][0]["index"] == [1] and student["wrong_entries"][0]["expected"] is None
    assert teacher["wrong_entries"][0]["expected"] == pytest.approx(0.24472847)


FUNCTION = "import numpy as np\ndef softmax(z):\n    e = np.exp(z - z.max())\n    return e / e.sum()\n"


@pytest.fixture
def own(client, build, people):
    """Alice's own instance of an assignment item, as the item's page shows it to her."""
    _, (item_id,) = build.assignment(people["course_id"], [{"kind": "softmax", "K": 4}])
    item = client.get(f"/api/v1/items/{item_id}", headers=people["alice"].headers).get_json()
    return item_id, item["instance"]


def check(client, account, instance, answer="[1]", fmt="json"):
    return client.post("/api/v1/check", json={"instance": instance, "answer": answer, "format": fmt},
                       headers=account.headers)


def scaled(instance, factor):
    return {**instance, "z": [v * factor for v in instance["z"]]}


@pytest.mark.parametrize(("factor", "fmt"), [(1.0, "json"), (1.001, "json"), (1.0, "python")])
def test_a_student_cannot_check_their_own_assignment_instance(client, people, own, factor, fmt):
    item_id, instance = own
    answer = FUNCTION if fmt == "python" else "[1]"
    response = check(client, people["alice"], scaled(instance, factor), answer, fmt)
    assert response.status_code == 409
    error = response.get_json()["error"]
    assert error["code"] == "own_assignment_instance"
    assert f"item_id {item_id}" in error["message"]


def test_other_instances_of_the_kind_are_checked(client, people, own):
    _, instance = own
    assert check(client, people["alice"], scaled(instance, 1.1)).status_code == 200  # another question
    assert check(client, people["bob"], instance).status_code == 200  # not bob's instance
    assert check(client, people["teacher"], instance).status_code == 200  # instructors check anything
    # a function answer with no given values runs on hidden instances only
    response = check(client, people["alice"], {"kind": "softmax"}, FUNCTION, "python")
    assert response.status_code == 200 and response.get_json()["correct"] is True


def test_practice_instances_are_checked(client, people):
    created = client.post("/api/v1/practice", json={"kinds": ["softmax"], "count": 1},
                          headers=people["alice"].headers).get_json()
    instance = created["items"][0]["instance"]
    assert check(client, people["alice"], instance).status_code == 200


def test_after_a_redraw_the_new_instance_is_the_one_kept_for_submissions(client, people, own):
    item_id, first = own
    response = client.post(f"/api/v1/items/{item_id}/redraw", json={"user_id": people["alice"].id},
                           headers=people["teacher"].headers)
    assert response.status_code == 200
    second = response.get_json()["instance"]
    assert second != first
    assert check(client, people["alice"], second).status_code == 409
    assert check(client, people["alice"], first).status_code == 200  # no longer hers to answer


@pytest.mark.parametrize(
    "change",
    [
        lambda z: [v + 5.0 for v in z],  # softmax is blind to a shift: the same answer
        lambda z: [*z[:3], z[3] + 0.0056],  # one value nudged past 1%, the answer within it
    ],
)
def test_an_instance_with_the_same_answer_as_ones_own_is_refused(client, people, own, change):
    _, instance = own
    response = check(client, people["alice"], {**instance, "z": change(instance["z"])})
    assert response.status_code == 409


@sqlite_only
def test_checking_holds_no_write_lock_while_grading(app, client, people, own, database_url, monkeypatch):
    import sqlite3

    import sqlalchemy as sa

    from grader.judge.grading import grade
    from grader.web.api import check as check_view

    seen = []

    def grade_and_try_to_write(*args, **kwargs):
        other = sqlite3.connect(sa.make_url(database_url).database, timeout=0, isolation_level=None)
        try:
            other.execute("BEGIN IMMEDIATE")  # fails at once if the request held the lock
            other.execute("ROLLBACK")
            seen.append("free")
        finally:
            other.close()
        return grade(*args, **kwargs)

    monkeypatch.setattr(check_view, "grade", grade_and_try_to_write)
    _, instance = own
    assert check(client, people["alice"], scaled(instance, 1.5)).status_code == 200
    assert seen == ["free"]


@pytest.mark.parametrize(
    ("answer", "correct", "code"),
    [("S_i (δ_ij − S_j)", True, None), (r"\operatorname{diag}(S) - S S^\top", True, None),
     ("-S_i S_j", False, "outer_only"), ("__import__('os')", False, "parse"),
     ("S_i (delta_ik - S_k)", False, "formula_index")],
)
def test_check_grades_a_formula(client, people, answer, correct, code):
    instance = {"kind": "softmax_jacobian", "z": ARTICLE_Z}
    response = client.post("/api/v1/check",
                           json={"instance": instance, "answer": answer, "format": "formula"},
                           headers=people["alice"].headers)
    assert response.status_code == 200
    body = response.get_json()
    assert body["correct"] is correct and body["format"] == "formula"
    assert [f["code"] for f in body["feedback"]][:1] == ([code] if code else [])
    assert all(entry["expected"] is None for entry in body["wrong_entries"])
    if code != "parse":
        assert body["read_as"] and body["read_as_latex"]


def test_a_formula_wrong_elsewhere_shows_the_hidden_instance_with_its_values(client, people):
    instance = {"kind": "softmax", "z": ARTICLE_Z}
    body = client.post("/api/v1/check", json={"instance": instance, "format": "formula",
                                              "answer": "exp(z_i)/(e^{z_1}+e^{z_2}+e^{z_3})"},
                       headers=people["alice"].headers).get_json()
    assert body["correct"] is False
    assert body["failed_instance"]["given"] is False and "expected" in body["failed_instance"]


def test_check_follows_through_from_an_earlier_formula(client, people):
    body = client.post(
        "/api/v1/check",
        json={"instance": {"kind": "softmax_jacobian", "z": ARTICLE_Z}, "format": "formula",
              "answer": "diag(exp(z)) - exp(z) exp(z)^T",
              "earlier": {"softmax": {"answer": "exp(z_i)", "format": "formula"}}},
        headers=people["alice"].headers,
    ).get_json()
    assert [f["code"] for f in body["feedback"]] == ["follow_through"]
    assert body["follow_through"]["from"] == ["softmax"]
