"""Derivations through the API: parts on one shared instance, follow-through, later corrections."""

from __future__ import annotations

import json

import numpy as np
import pytest

from exercises.cross_entropy import one_hot
from exercises.layer import logits_weight_jacobian
from exercises.softmax import softmax, softmax_jacobian


@pytest.fixture
def homework(build, people):
    assignment_id, _ = build.assignment(people["course_id"], [{"kind": "softmax", "K": 3}])
    return {"assignment_id": assignment_id, **people}


def create(client, homework, preset="softmax_layer", **options):
    return client.post(
        f"/api/v1/assignments/{homework['assignment_id']}/derivations",
        json={"preset": preset, "n": 2, "K": 3, **options},
        headers=homework["teacher"].headers,
    )


def derivation_id(client, homework, preset="softmax_layer", **options) -> int:
    response = create(client, homework, preset, **options)
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


def view(client, account, did) -> dict:
    response = client.get(f"/api/v1/derivations/{did}", headers=account.headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def answer(client, account, did, letter, array, fmt="json"):
    text = array if isinstance(array, str) else json.dumps(np.asarray(array).tolist())
    return client.post(
        f"/api/v1/derivations/{did}/parts/{letter}/submissions",
        json={"answer": text, "format": fmt},
        headers=account.headers,
    )


def verdict_of(response) -> dict:
    assert response.status_code == 201, response.get_json()
    return response.get_json()["verdict"]


def shared(client, account, did):
    instance = view(client, account, did)["shared_instance"]
    W, x = np.array(instance["W"]), np.array(instance["x"])
    return W, x, W.T @ x, instance.get("c")


def test_an_instructor_creates_the_parts_in_order(client, homework):
    response = create(client, homework, share=0.5, points=2)
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert [part["letter"] for part in body["parts"]] == ["a", "b", "c", "d"]
    assert [part["item"]["kind"] for part in body["parts"]] == [
        "softmax", "softmax_jacobian", "logits_weight_jacobian", "layer_jacobian"
    ]
    assert body["share"] == 0.5 and body["points"] == 8
    assignment = client.get(
        f"/api/v1/assignments/{homework['assignment_id']}", headers=homework["teacher"].headers
    ).get_json()
    assert assignment["points"] == 1 + 8  # the gradebook counts each part's points


@pytest.mark.parametrize(
    ("who", "body", "status"),
    [
        ("alice", {"preset": "softmax_layer"}, 403),
        ("eve", {"preset": "softmax_layer"}, 404),
        ("teacher", {"preset": "no_such_thing"}, 422),
        ("teacher", {"preset": "softmax_layer", "share": 1.5}, 422),
        ("teacher", {"preset": "softmax_layer", "K": 0}, 422),
    ],
)
def test_creating_is_refused_to_others_and_for_bad_options(client, homework, who, body, status):
    response = client.post(
        f"/api/v1/assignments/{homework['assignment_id']}/derivations",
        json=body,
        headers=homework[who].headers,
    )
    assert response.status_code == status, response.get_json()
    assert "error" in response.get_json()


def test_each_part_may_be_asked_in_forms_of_its_own(client, homework):
    response = create(client, homework, answer_forms=["matrix", "formula"],
                      part_answer_forms={"d": ["formula"], "a": ["function", "matrix"]})
    assert response.status_code == 201, response.get_json()
    parts = response.get_json()["parts"]
    assert [part["item"]["answer_forms"] for part in parts] == [
        ["matrix", "function"], ["matrix", "formula"], ["matrix", "formula"], ["formula"],
    ]
    did = response.get_json()["id"]
    W, x, z, _ = shared(client, homework["alice"], did)
    refused = answer(client, homework["alice"], did, "d", softmax_jacobian(z) @ logits_weight_jacobian(W, x))
    assert refused.status_code == 409 and "formula" in refused.get_json()["error"]["message"]


@pytest.mark.parametrize(
    "forms",
    [{"e": ["matrix"]}, {"b": []}, {"b": ["essay"]}],
)
def test_forms_of_a_part_it_does_not_have_or_of_none_are_refused(client, homework, forms):
    response = create(client, homework, part_answer_forms=forms)
    assert response.status_code == 422, response.get_json()


def test_the_parts_share_one_instance(client, homework):
    did = derivation_id(client, homework)
    body = view(client, homework["alice"], did)
    W, x, z, _ = shared(client, homework["alice"], did)
    a, b, c, d = (part["item"]["instance"] for part in body["parts"])
    assert np.allclose(a["z"], z) and np.allclose(b["z"], z)  # z = W^T x
    assert np.allclose(c["W"], W) and np.allclose(d["x"], x)
    assert "z = " in body["parts"][0]["item"]["statement"]
    assert view(client, homework["bob"], did)["shared_instance"] != body["shared_instance"]


def test_each_part_is_graded_against_the_truth(client, homework):
    did = derivation_id(client, homework)
    alice = homework["alice"]
    W, x, z, _ = shared(client, alice, did)
    S = softmax(z)
    dz = logits_weight_jacobian(W, x)
    for letter, right in zip("abcd", [S, softmax_jacobian(z), dz, softmax_jacobian(z) @ dz], strict=True):
        verdict = verdict_of(answer(client, alice, did, letter, right))
        assert verdict["correct"] is True, (letter, verdict)


def layer_case(W, x, z):
    """(b) the diagonal-only dS/dz; (d) chained correctly from it."""
    S = softmax(z)
    diagonal_only = np.diag(S * (1 - S))
    return "b", diagonal_only, "d", diagonal_only @ logits_weight_jacobian(W, x)


def softmax_case(builder):
    """(a) a wrong S, and the later part built from it by ``builder``."""
    def case(W, x, z, c=None):
        wrong_S = np.exp(z)  # not_normalised
        return "a", wrong_S, "b", builder(wrong_S, c)
    return case


@pytest.mark.parametrize(
    ("preset", "case", "pointer"),
    [
        ("softmax_layer", layer_case, "dS/dz from part (b)"),
        ("softmax_layer", softmax_case(lambda S, c: np.diag(S) - np.outer(S, S)), "S from part (a)"),
        ("cross_entropy", softmax_case(lambda S, c: S - one_hot(c, S.size)), "S from part (a)"),
    ],
)
def test_a_later_part_right_for_a_wrong_earlier_one_earns_follow_through(
    client, homework, preset, case, pointer
):
    did = derivation_id(client, homework, preset)
    alice = homework["alice"]
    W, x, z, c = shared(client, alice, did)
    earlier, wrong, later, chained = case(W, x, z) if c is None else case(W, x, z, c)
    assert verdict_of(answer(client, alice, did, earlier, wrong))["correct"] is False
    verdict = verdict_of(answer(client, alice, did, later, chained))
    assert verdict["correct"] is False and verdict["score"] == 0.75
    assert verdict["follow_through"]["from"]
    message = verdict["feedback"][0]["message"]
    assert verdict["feedback"][0]["code"] == "follow_through"
    assert pointer in message and f"fix ({earlier})" in message


def test_the_weight_gradient_follows_through_from_a_wrong_logits_gradient(client, homework):
    did = derivation_id(client, homework, "cross_entropy")
    alice = homework["alice"]
    _, x, z, _ = shared(client, alice, did)
    forgot_one_hot = softmax(z)
    assert verdict_of(answer(client, alice, did, "b", forgot_one_hot))["correct"] is False
    verdict = verdict_of(answer(client, alice, did, "c", np.outer(x, forgot_one_hot)))
    assert verdict["score"] == 0.75 and "dL/dz from part (b)" in verdict["feedback"][0]["message"]


def test_the_share_is_set_per_derivation(client, homework):
    did = derivation_id(client, homework, share=0.5)
    alice = homework["alice"]
    W, x, z, _ = shared(client, alice, did)
    _, wrong, _, chained = layer_case(W, x, z)
    answer(client, alice, did, "b", wrong)
    assert verdict_of(answer(client, alice, did, "d", chained))["score"] == 0.5


def test_no_follow_through_from_no_real_attempt_nor_for_a_trivial_step(client, homework):
    did = derivation_id(client, homework)
    alice = homework["alice"]
    W, x, _, _ = shared(client, alice, did)
    answer(client, alice, did, "b", np.ones((3, 3)))  # a constant: no real attempt
    verdict = verdict_of(answer(client, alice, did, "d", np.ones((3, 3)) @ logits_weight_jacobian(W, x)))
    assert verdict.get("follow_through") is None and verdict["score"] < 0.75
    # their dS/dz the identity: dS/dvec(W) would be dz/dvec(W), an answer already in hand
    answer(client, alice, did, "b", np.eye(3))
    verdict = verdict_of(answer(client, alice, did, "d", logits_weight_jacobian(W, x)))
    assert "follow_through" not in [f["code"] for f in verdict["feedback"]]


def test_a_later_part_keeps_its_verdict_when_the_earlier_one_is_corrected(client, homework):
    did = derivation_id(client, homework)
    alice = homework["alice"]
    W, x, z, _ = shared(client, alice, did)
    _, wrong, _, chained = layer_case(W, x, z)
    answer(client, alice, did, "b", wrong)
    answer(client, alice, did, "d", chained)
    assert view(client, alice, did)["parts"][3]["changed_since"] == []
    assert verdict_of(answer(client, alice, did, "b", softmax_jacobian(z)))["correct"] is True
    part_d = view(client, alice, did)["parts"][3]
    assert part_d["latest"]["verdict"]["score"] == 0.75
    assert part_d["item"]["score"] == 0.75
    assert part_d["changed_since"] == ["b"]


def test_the_one_submission_path_grades_a_part_with_follow_through(client, homework):
    did = derivation_id(client, homework)
    alice = homework["alice"]
    W, x, z, _ = shared(client, alice, did)
    parts = view(client, alice, did)["parts"]
    _, wrong, _, chained = layer_case(W, x, z)
    for item, array in ((parts[1]["item"], wrong), (parts[3]["item"], chained)):
        response = client.post(
            "/api/v1/submissions",
            json={"item_id": item["id"], "answer": json.dumps(array.tolist()), "format": "json"},
            headers=alice.headers,
        )
    assert verdict_of(response)["follow_through"]["from"] == ["softmax_jacobian"]


@pytest.mark.parametrize(
    ("who", "letter", "body", "status"),
    [
        ("eve", "a", {"answer": "[1]", "format": "json"}, 404),
        ("alice", "z", {"answer": "[1]", "format": "json"}, 404),
        ("alice", "a", {"answer": "[1]", "format": "klingon"}, 422),
        ("alice", "a", {"answer": "[[1, 2", "format": "text"}, 201),
    ],
)
def test_bad_part_submissions_get_a_4xx_or_a_verdict(client, homework, who, letter, body, status):
    did = derivation_id(client, homework)
    response = client.post(
        f"/api/v1/derivations/{did}/parts/{letter}/submissions", json=body, headers=homework[who].headers
    )
    assert response.status_code == status, response.get_json()


def test_an_unknown_derivation_is_404(client, homework):
    assert client.get("/api/v1/derivations/999", headers=homework["alice"].headers).status_code == 404
    assert client.get("/api/v1/derivations/0", headers=homework["alice"].headers).status_code == 404


def test_a_redraw_keeps_the_parts_on_one_instance_and_drops_answers_to_the_old_one(client, homework):
    did = derivation_id(client, homework)
    alice = homework["alice"]
    W, x, z, _ = shared(client, alice, did)
    _, wrong, _, _ = layer_case(W, x, z)
    answer(client, alice, did, "b", wrong)
    first_part = view(client, alice, did)["parts"][0]["item"]["id"]
    response = client.post(
        f"/api/v1/items/{first_part}/redraw", json={"user_id": alice.id}, headers=homework["teacher"].headers
    )
    assert response.status_code == 200, response.get_json()
    W2, x2, z2, _ = shared(client, alice, did)
    assert not np.allclose(W2, W)
    parts = view(client, alice, did)["parts"]
    assert np.allclose(parts[0]["item"]["instance"]["z"], z2)
    assert np.allclose(parts[2]["item"]["instance"]["W"], W2)
    # (b)'s answer was to the old instance: (d) on the new one builds on nothing of it
    chained2 = layer_case(W2, x2, z2)[3]
    verdict = verdict_of(answer(client, alice, did, "d", chained2))
    assert verdict.get("follow_through") is None and verdict["score"] < 0.75


def test_an_assignment_lists_its_derivations(client, homework):
    first = derivation_id(client, homework)
    second = derivation_id(client, homework, "cross_entropy", title="Cross-entropy, by hand")
    path = f"/api/v1/assignments/{homework['assignment_id']}/derivations"
    body = client.get(path, headers=homework["alice"].headers).get_json()
    assert [d["id"] for d in body["derivations"]] == [first, second]
    assert body["derivations"][1]["title"] == "Cross-entropy, by hand"
    assert all(part["item"]["instance"] for part in body["derivations"][1]["parts"])
    assert client.get(path, headers=homework["eve"].headers).status_code == 404


@pytest.mark.parametrize(
    ("earlier", "later"),
    [
        (("exp(z)", "formula"), ("diag(exp(z)) - exp(z) exp(z)^T", "formula")),
        (("exp(z)", "formula"), (None, "json")),
        ((None, "json"), ("diag(exp(z)) - exp(z) exp(z)^T", "formula")),
    ],
)
def test_formula_parts_follow_through_like_matrices(client, homework, earlier, later):
    did = derivation_id(client, homework)
    alice = homework["alice"]
    _, _, z, _ = shared(client, alice, did)
    wrong_S = np.exp(z)  # not normalised
    chained = np.diag(wrong_S) - np.outer(wrong_S, wrong_S)
    typed = {"a": json.dumps(wrong_S.tolist()), "b": json.dumps(chained.tolist())}
    first = answer(client, alice, did, "a", earlier[0] or typed["a"], earlier[1])
    assert verdict_of(first)["correct"] is False
    verdict = verdict_of(answer(client, alice, did, "b", later[0] or typed["b"], later[1]))
    assert verdict["follow_through"]["from"] == ["softmax"] and verdict["score"] == 0.75
    assert "fix (a)" in verdict["feedback"][0]["message"]


def test_a_regrade_keeps_follow_through_on_the_earlier_parts_recorded(client, homework, build):
    from grader.service import regrade
    from grader.service.models import Assignment

    did = derivation_id(client, homework)
    alice = homework["alice"]
    W, x, z, _ = shared(client, alice, did)
    _, wrong, _, chained = layer_case(W, x, z)
    answer(client, alice, did, "b", wrong)
    later = verdict_of(answer(client, alice, did, "d", chained))
    answer(client, alice, did, "b", softmax_jacobian(z))  # corrected since: the record stands
    with build.sessionmaker() as session:
        plan = regrade.plan(session, session.get(Assignment, homework["assignment_id"]))
    (again,) = [r for r in plan.regraded if r.new is not None and r.new.kind == "layer_jacobian"]
    assert again.new.follow_through == later["follow_through"] and again.new.score == 0.75
    assert not again.changed


def test_a_part_answered_on_numbers_since_redrawn_is_a_409(client, homework):
    alice, teacher = homework["alice"], homework["teacher"]
    did = derivation_id(client, homework)
    parts = view(client, alice, did)["parts"]
    assert {part["item"]["draw_number"] for part in parts} == {0}
    _, _, z, _ = shared(client, alice, did)
    redrawn = client.post(f"/api/v1/items/{parts[1]['item']['id']}/redraw", json={"user_id": alice.id},
                          headers=teacher.headers)
    assert redrawn.status_code == 200
    stale = client.post(
        f"/api/v1/derivations/{did}/parts/a/submissions",
        json={"answer": json.dumps(softmax(z).tolist()), "format": "json", "draw_number": 0},
        headers=alice.headers,
    )
    assert stale.status_code == 409 and stale.get_json()["error"]["code"] == "stale_version"
    now = view(client, alice, did)
    assert {part["item"]["draw_number"] for part in now["parts"]} == {1}
    assert now["parts"][0]["latest"] is None and now["parts"][0]["item"]["attempts_used"] == 0
    _, _, new_z, _ = shared(client, alice, did)
    response = client.post(
        f"/api/v1/derivations/{did}/parts/a/submissions",
        json={"answer": json.dumps(softmax(new_z).tolist()), "format": "json", "draw_number": 1},
        headers=alice.headers,
    )
    assert verdict_of(response)["correct"] is True
