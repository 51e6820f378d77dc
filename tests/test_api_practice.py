"""Practice sets: fresh instances chosen for the student, graded, out of the gradebook."""

from __future__ import annotations

import json

import numpy as np
import pytest

import exercises
from exercises.softmax import softmax
from grader.service import practice


def new_set(client, account, body=None):
    return client.post("/api/v1/practice", json=body or {}, headers=account.headers)


def test_a_practice_set_has_fresh_instances(client, people):
    response = new_set(client, people["eve"])
    assert response.status_code == 201
    body = response.get_json()
    assert len(body["items"]) == 5
    for item in body["items"]:
        assert item["instance"]["kind"] == item["kind"] in exercises.KINDS
        assert item["statement"] and item["reason"]
    again = new_set(client, people["eve"]).get_json()
    assert again["items"][0]["instance"] != body["items"][0]["instance"]


def test_kinds_and_count_can_be_chosen(client, people):
    body = new_set(client, people["eve"], {"kinds": ["softmax"], "count": 3}).get_json()
    assert [item["kind"] for item in body["items"]] == ["softmax"] * 3


@pytest.mark.parametrize(
    ("body", "mentions"),
    [({"kinds": ["nope"]}, "unknown kind"), ({"count": 0}, "count"), ({"count": 21}, "count"),
     ({"kinds": "softmax"}, "kinds")],
)
def test_bad_practice_requests(client, people, body, mentions):
    response = new_set(client, people["eve"], body)
    assert response.status_code == 422
    assert mentions in response.get_json()["error"]["message"]


def test_practice_items_are_graded_and_private(client, people):
    item = new_set(client, people["eve"], {"kinds": ["softmax"], "count": 1}).get_json()["items"][0]
    exercise, normal = exercises.validate(item["instance"])
    answer = json.dumps(exercise.reference(normal).tolist())
    response = client.post("/api/v1/submissions", headers=people["eve"].headers,
                           json={"item_id": item["id"], "answer": answer, "format": "json"})
    assert response.status_code == 201
    assert response.get_json()["verdict"]["correct"] is True
    other = client.post("/api/v1/submissions", headers=people["alice"].headers,
                        json={"item_id": item["id"], "answer": answer, "format": "json"})
    assert other.status_code == 404
    sets = client.get("/api/v1/practice", headers=people["eve"].headers).get_json()
    assert len(sets["practice_sets"]) == 1
    set_id = sets["practice_sets"][0]["id"]
    assert client.get(f"/api/v1/practice/{set_id}", headers=people["alice"].headers).status_code == 404
    assert client.get(f"/api/v1/practice/{set_id}", headers=people["eve"].headers).status_code == 200


def record(results: list[bool], codes: tuple[str, ...] = ()) -> practice.KindRecord:
    from collections import Counter

    return practice.KindRecord(recent=results, attempts=len(results), codes=Counter(codes))


def test_more_of_what_is_wrong_less_of_what_is_mastered():
    records = {
        "softmax_jacobian": record([False, False, True], ("diagonal_only", "diagonal_only")),
        "softmax": record([True, True, True, True]),
    }
    kinds = ["softmax", "softmax_jacobian", "cross_entropy_logits_grad"]
    choices = practice.choose(records, kinds, 2000, np.random.default_rng(0))
    counts = {kind: sum(c.kind == kind for c in choices) for kind in kinds}
    assert counts["softmax_jacobian"] > counts["cross_entropy_logits_grad"] > counts["softmax"]
    reasons = {c.kind: c.reason for c in choices}
    assert "2 of your last 3 answers to dS/dz were not right" in reasons["softmax_jacobian"]
    assert "you kept only the diagonal terms S_i (1 - S_i) twice on dS/dz" in reasons["softmax_jacobian"]
    assert "new to you" in reasons["cross_entropy_logits_grad"]
    assert "refresher" in reasons["softmax"]


def test_a_misconception_raises_the_kinds_that_practise_it():
    records = {"logits_weight_jacobian": record([False], ("vec_order",))}
    weight_layer, reason = practice.weigh("layer_jacobian", records)
    weight_softmax, _ = practice.weigh("softmax", records)
    assert weight_layer > weight_softmax
    assert "you flattened W row by row instead of column by column once on dz/dvec(W)" in reason
    assert "vec_order" not in reason


@pytest.mark.parametrize(
    ("results", "said"),
    [
        ([False], "your answer to dS/dz was not right yet"),
        ([False, False], "your last 2 answers to dS/dz were not right yet"),
        ([True, False, True], "1 of your last 3 answers to dS/dz was not right"),
    ],
)
def test_a_reason_speaks_of_the_kind_in_plain_words(results: list[bool], said: str) -> None:
    _, reason = practice.weigh("softmax_jacobian", {"softmax_jacobian": record(results, ("transpose",))})
    assert reason.startswith(said)
    assert "you swapped rows and columns once on dS/dz" in reason
    assert "of your last 1 times" not in reason and "'" not in reason


def test_practice_follows_the_students_history(client, people, build):
    eve = people["eve"]
    item = new_set(client, eve, {"kinds": ["layer_jacobian"], "count": 1}).get_json()["items"][0]
    exercise, normal = exercises.validate(item["instance"])
    wrong = json.dumps(exercise.reference(normal).T.tolist())
    for _ in range(2):
        client.post("/api/v1/submissions", headers=eve.headers,
                    json={"item_id": item["id"], "answer": wrong, "format": "json"})
    # three sets of 20 drawn by weight: the kind answered wrongly weighs 6, the others 1 or 2
    # (3 draws in 8); it falls to its even share of 60 in 3 runs of 10^5 (of 20: in 7 of 10^3)
    chosen = [item for _ in range(3) for item in new_set(client, eve, {"count": 20}).get_json()["items"]]
    layer = [i for i in chosen if i["kind"] == "layer_jacobian"]
    assert len(layer) > len(chosen) / len(exercises.KINDS)
    assert "your last 2 answers to dS/dvec(W) were not right yet" in layer[0]["reason"]
    assert "you swapped rows and columns twice on dS/dvec(W)" in layer[0]["reason"]


def wrong_practice_verdict(client, account) -> dict:
    item = new_set(client, account, {"kinds": ["softmax"], "count": 1}).get_json()["items"][0]
    exercise, normal = exercises.validate(item["instance"])
    wrong = json.dumps((np.asarray(exercise.reference(normal)) + 0.25).tolist())
    response = client.post("/api/v1/submissions", headers=account.headers,
                           json={"item_id": item["id"], "answer": wrong, "format": "json"})
    assert response.status_code == 201, response.get_json()
    return response.get_json()["verdict"]


def test_practice_shows_expected_values_as_check_does(client, people, build):
    # an instructor account that takes no course sees them, as on /check
    teacher = people["teacher"]
    entries = wrong_practice_verdict(client, teacher)["wrong_entries"]
    assert entries and all(entry["expected"] is not None for entry in entries)
    # once it takes a course it practises as a student does: the answer is not given away
    colleague = build.user("colleague", "instructor")
    build.enrol(build.course(colleague, code="TAKE1"), teacher)
    entries = wrong_practice_verdict(client, teacher)["wrong_entries"]
    assert entries and all(entry["expected"] is None for entry in entries)


# ---- derivations in practice sets ------------------------------------------------------


def derivation_set(client, account, preset="cross_entropy", count=1) -> dict:
    response = new_set(client, account, {"count": count, "derivations": 1, "presets": [preset]})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def answer_part(client, account, did, letter, array):
    return client.post(
        f"/api/v1/derivations/{did}/parts/{letter}/submissions",
        json={"answer": json.dumps(np.asarray(array).tolist()), "format": "json"},
        headers=account.headers,
    )


def carry_a_wrong_softmax(client, account) -> dict:
    """A cross-entropy practice derivation: (a) a wrong S, (b) S - y built from it."""
    derivation = derivation_set(client, account)["derivations"][0]
    shared = derivation["shared_instance"]
    z = np.array(shared["W"]).T @ np.array(shared["x"])
    # a wrong S off by a constant: its S - y is never within tolerance of S itself nor of the
    # true gradient (exp(z) may be too large to tell apart; 2 S near S where S is near one-hot)
    wrong_S = softmax(z) + 0.25
    first = answer_part(client, account, derivation["id"], "a", wrong_S)
    assert first.status_code == 201 and first.get_json()["verdict"]["correct"] is False
    second = answer_part(client, account, derivation["id"], "b", wrong_S - np.eye(z.size)[shared["c"]])
    assert second.status_code == 201, second.get_json()
    return {"derivation": derivation, "verdict": second.get_json()["verdict"]}


def test_a_set_may_hold_a_derivation_on_one_shared_instance(client, people):
    body = derivation_set(client, people["eve"], "softmax_layer", count=2)
    assert len(body["items"]) == 2  # the single items: the parts are the derivation's
    (derivation,) = body["derivations"]
    assert derivation["assignment_id"] is None and derivation["practice_set_id"] == body["id"]
    assert derivation["reason"] == "new to you: you have not done a whole derivation yet"
    parts = derivation["parts"]
    assert [part["letter"] for part in parts] == ["a", "b", "c", "d"]
    shared = derivation["shared_instance"]
    z = np.array(shared["W"]).T @ np.array(shared["x"])
    assert np.allclose(parts[0]["item"]["instance"]["z"], z)
    assert parts[2]["item"]["instance"]["W"] == shared["W"]
    assert all(part["item"]["practice_set_id"] == body["id"] for part in parts)
    fetched = client.get(f"/api/v1/practice/{body['id']}", headers=people["eve"].headers).get_json()
    assert fetched["derivations"][0]["shared_instance"] == shared  # stored, not drawn again


def test_only_a_derivation_may_be_asked_for(client, people):
    asked = {"count": 0, "presets": ["cross_entropy", "softmax_layer"]}
    body = new_set(client, people["eve"], asked).get_json()
    assert body["items"] == []
    assert sorted(d["preset"] for d in body["derivations"]) == ["cross_entropy", "softmax_layer"]


@pytest.mark.parametrize(
    ("body", "mentions"),
    [({"count": 0, "derivations": 0}, "count"), ({"derivations": 4}, "derivations"),
     ({"presets": ["nope"]}, "presets"), ({"derivations": "1"}, "derivations")],
)
def test_bad_derivation_requests(client, people, body, mentions):
    response = new_set(client, people["eve"], body)
    assert response.status_code == 422
    assert mentions in response.get_json()["error"]["message"]


def test_a_part_right_for_a_wrong_earlier_part_earns_follow_through_in_practice(client, people):
    verdict = carry_a_wrong_softmax(client, people["eve"])["verdict"]
    assert verdict["correct"] is False and verdict["score"] == 0.75
    assert verdict["follow_through"]["from"] == ["softmax"]
    assert verdict["feedback"][0]["code"] == "follow_through"
    assert "S from part (a)" in verdict["feedback"][0]["message"]
    assert "fix (a)" in verdict["feedback"][0]["message"]


def test_carried_mistakes_bring_a_derivation_into_the_next_set(client, people):
    eve = people["eve"]
    carry_a_wrong_softmax(client, eve)  # two answers only: fewer than a default set waits for
    body = new_set(client, eve).get_json()
    assert len(body["items"]) == 5
    (derivation,) = body["derivations"]  # drawn by weight: either chain, each saying why
    said = {
        "cross_entropy": "a chain: your answers to (b) dL/dz carried a wrong (a) softmax(z) once",
        "softmax_layer": "new to you: you have not done a whole derivation yet",
    }
    assert derivation["reason"] == said[derivation["preset"]]
    # a set of chosen kinds is what was asked for, and nothing more
    assert new_set(client, eve, {"kinds": ["softmax"]}).get_json()["derivations"] == []


def test_a_newcomers_default_set_holds_no_derivation(client, people):
    assert new_set(client, people["eve"]).get_json()["derivations"] == []


@pytest.mark.parametrize("who", ["alice", "teacher"])
def test_a_practice_derivation_is_its_owners_only(client, people, who):
    derivation = derivation_set(client, people["eve"])["derivations"][0]
    other = people[who]
    assert client.get(f"/api/v1/derivations/{derivation['id']}", headers=other.headers).status_code == 404
    response = answer_part(client, other, derivation["id"], "a", [0.5, 0.5])
    assert response.status_code == 404
    part_id = derivation["parts"][0]["item"]["id"]
    response = client.post("/api/v1/submissions", headers=other.headers,
                           json={"item_id": part_id, "answer": "[0.5, 0.5]", "format": "json"})
    assert response.status_code == 404
    own = client.get(f"/api/v1/derivations/{derivation['id']}", headers=people["eve"].headers)
    assert own.status_code == 200


def test_practice_derivations_stay_out_of_gradebooks_and_reports(client, people, build):
    teacher, alice = people["teacher"], people["alice"]
    assignment_id, _ = build.assignment(people["course_id"], [{"kind": "softmax", "K": 3}])
    practised = carry_a_wrong_softmax(client, alice)  # alice takes the course, and practises
    headers = teacher.headers
    course = people["course_id"]
    book = client.get(f"/api/v1/courses/{course}/gradebook", headers=headers).get_json()
    alice_row = next(row for row in book["students"] if row["user"]["name"] == "alice")
    assert alice_row["total"] == 0 and all(cell["attempts"] == 0 for cell in alice_row["items"])
    part_ids = {part["item"]["id"] for part in practised["derivation"]["parts"]}
    assert not part_ids & {cell["item_id"] for row in book["students"] for cell in row["items"]}
    timeline = client.get(f"/api/v1/courses/{course}/students/{alice.id}/timeline", headers=headers)
    assert timeline.get_json()["submissions"] == []
    analysis = client.get(f"/api/v1/assignments/{assignment_id}/analysis", headers=headers).get_json()
    assert len(analysis["items"]) == 1 and not part_ids & {item["item_id"] for item in analysis["items"]}
    listed = client.get(f"/api/v1/assignments/{assignment_id}/derivations", headers=headers).get_json()
    assert listed["derivations"] == []
    for part_id in part_ids:
        assert client.get(f"/api/v1/items/{part_id}/stats", headers=headers).status_code == 404


# ---- another version ------------------------------------------------------------------


def redraw(client, account, what: str, target_id: int, body=None):
    return client.post(f"/api/v1/practice/{what}/{target_id}/redraw", json=body, headers=account.headers)


def test_another_version_of_a_practice_item(client, people):
    eve = people["eve"]
    item = new_set(client, eve, {"kinds": ["softmax"], "count": 1}).get_json()["items"][0]
    exercise, normal = exercises.validate(item["instance"])
    answer = json.dumps(exercise.reference(normal).tolist())
    stored = client.post("/api/v1/submissions", headers=eve.headers,
                         json={"item_id": item["id"], "answer": answer, "format": "json"}).get_json()
    response = redraw(client, eve, "items", item["id"], {"draw_number": 0})
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["item_id"] == item["id"] and body["user_id"] == eve.id and body["draw_number"] == 1
    assert body["instance"] != item["instance"] and body["instance"]["kind"] == "softmax"
    drawn, drawn_normal = exercises.validate(body["instance"])  # z[0] of 0.0 is written "0"
    assert body["statement"] == drawn.statement(drawn_normal).text != exercise.statement(normal).text
    now = client.get(f"/api/v1/items/{item['id']}", headers=eve.headers).get_json()
    assert now["instance"] == body["instance"]
    assert now["attempts_used"] == 1  # asking is no attempt
    # the earlier answer keeps the instance it answered, and its verdict
    earlier = client.get(f"/api/v1/submissions/{stored['id']}", headers=eve.headers).get_json()
    assert earlier["verdict"]["correct"] is True
    again = redraw(client, eve, "items", item["id"])  # no body: whatever is current is replaced
    assert again.status_code == 200 and again.get_json()["draw_number"] == 2


def test_a_request_sent_twice_draws_once(client, people):
    eve = people["eve"]
    item = new_set(client, eve, {"kinds": ["softmax"], "count": 1}).get_json()["items"][0]
    assert redraw(client, eve, "items", item["id"], {"draw_number": 0}).status_code == 200
    response = redraw(client, eve, "items", item["id"], {"draw_number": 0})
    assert response.status_code == 409
    assert response.get_json()["error"]["code"] == "stale_version"
    assert "nothing was drawn" in response.get_json()["error"]["message"]
    assert redraw(client, eve, "items", item["id"], {"draw_number": 1}).get_json()["draw_number"] == 2


def test_another_version_of_a_practice_derivation_moves_every_part(client, people):
    eve = people["eve"]
    derivation = derivation_set(client, eve, "softmax_layer")["derivations"][0]
    response = redraw(client, eve, "derivations", derivation["id"], {"draw_number": 0})
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["draw_number"] == 1 and body["id"] == derivation["id"]
    shared = body["shared_instance"]
    assert shared != derivation["shared_instance"]
    z = np.array(shared["W"]).T @ np.array(shared["x"])
    assert np.allclose(body["parts"][0]["item"]["instance"]["z"], z)
    assert body["parts"][3]["item"]["instance"]["W"] == shared["W"]
    fetched = client.get(f"/api/v1/derivations/{derivation['id']}", headers=eve.headers).get_json()
    assert fetched["shared_instance"] == shared
    # one part asks for the whole derivation
    part = redraw(client, eve, "items", derivation["parts"][2]["item"]["id"]).get_json()
    after = client.get(f"/api/v1/derivations/{derivation['id']}", headers=eve.headers).get_json()
    assert part["draw_number"] == 2 and after["parts"][2]["item"]["instance"] == part["instance"]
    assert after["shared_instance"] not in (shared, derivation["shared_instance"])


def test_follow_through_builds_on_answers_to_the_current_version_only(client, people):
    eve = people["eve"]
    carried = carry_a_wrong_softmax(client, eve)
    assert carried["verdict"]["follow_through"]["from"] == ["softmax"]  # on one version: it does
    derivation, old = carried["derivation"], carried["derivation"]["shared_instance"]
    old_z = np.array(old["W"]).T @ np.array(old["x"])
    old_b = softmax(old_z) + 0.25 - np.eye(old_z.size)[old["c"]]
    body = redraw(client, eve, "derivations", derivation["id"]).get_json()
    assert all(part["latest"] is None for part in body["parts"])  # no answer to these values yet
    # (b) built on the wrong (a) of the version before: that (a) answered another question
    verdict = answer_part(client, eve, derivation["id"], "b", old_b).get_json()["verdict"]
    assert verdict.get("follow_through") is None
    assert "follow_through" not in [feedback["code"] for feedback in verdict["feedback"]]
    # a wrong (a) to the new values is built on again
    new = body["shared_instance"]
    z = np.array(new["W"]).T @ np.array(new["x"])
    assert answer_part(client, eve, derivation["id"], "a", softmax(z) + 0.25).status_code == 201
    verdict = answer_part(client, eve, derivation["id"], "b", softmax(z) + 0.25 - np.eye(z.size)[new["c"]])
    assert verdict.get_json()["verdict"]["follow_through"]["from"] == ["softmax"]


def test_the_best_score_and_the_attempts_outlive_a_new_version(client, people):
    eve = people["eve"]
    derivation = derivation_set(client, eve, "cross_entropy")["derivations"][0]
    shared = derivation["shared_instance"]
    S = softmax(np.array(shared["W"]).T @ np.array(shared["x"]))
    assert answer_part(client, eve, derivation["id"], "a", S).get_json()["verdict"]["correct"] is True
    body = redraw(client, eve, "derivations", derivation["id"]).get_json()
    part = body["parts"][0]
    assert part["item"]["score"] == 1.0 and part["item"]["attempts_used"] == 1 and part["latest"] is None
    assert answer_part(client, eve, derivation["id"], "a", S).get_json()["verdict"]["correct"] is False
    part = client.get(f"/api/v1/derivations/{derivation['id']}", headers=eve.headers).get_json()["parts"][0]
    assert part["item"]["score"] == 1.0 and part["item"]["attempts_used"] == 2
    assert part["latest"]["verdict"]["correct"] is False  # the latest answer to these values


@pytest.mark.parametrize("who", ["alice", "teacher"])
def test_another_version_is_the_owners_only(client, people, who):
    eve = people["eve"]
    derivation = derivation_set(client, eve)["derivations"][0]
    item = new_set(client, eve, {"kinds": ["softmax"], "count": 1}).get_json()["items"][0]
    other = people[who]
    assert redraw(client, other, "derivations", derivation["id"]).status_code == 404
    assert redraw(client, other, "items", item["id"]).status_code == 404
    assert redraw(client, other, "items", derivation["parts"][0]["item"]["id"]).status_code == 404
    own = client.get(f"/api/v1/items/{item['id']}", headers=eve.headers).get_json()
    assert own["instance"] == item["instance"]
    assert redraw(client, eve, "items", item["id"]).status_code == 200  # hers to ask for


def test_an_assignment_is_not_drawn_again_by_this_route(client, people, build):
    assignment_id, (item_id,) = build.assignment(people["course_id"], [{"kind": "softmax", "K": 3}])
    derivation = client.post(f"/api/v1/assignments/{assignment_id}/derivations",
                             json={"preset": "cross_entropy"}, headers=people["teacher"].headers).get_json()
    for who in ("alice", "teacher"):
        response = redraw(client, people[who], "items", item_id)
        assert response.status_code == 403 and "instructors" in response.get_json()["error"]["message"]
        assert redraw(client, people[who], "derivations", derivation["id"]).status_code == 403
    assert redraw(client, people["eve"], "items", item_id).status_code == 404  # in no course of hers


@pytest.mark.parametrize(
    "body", [{"draw_number": -1}, {"draw_number": "0"}, {"draw_number": True}, {"version": 1}, [1]]
)
def test_bad_redraw_requests(client, people, body):
    item = new_set(client, people["eve"], {"kinds": ["softmax"], "count": 1}).get_json()["items"][0]
    response = redraw(client, people["eve"], "items", item["id"], body)
    assert response.status_code == 422, response.get_json()
    assert response.get_json()["error"]["code"] == "invalid"


@pytest.mark.parametrize(
    ("target", "named"),
    [("items/0", "item 0"), ("items/99999999999", "item 99999999999"),
     ("derivations/424242", "derivation 424242")],
)
def test_redraw_of_nothing_is_a_404(client, people, target, named):
    response = client.post(f"/api/v1/practice/{target}/redraw", headers=people["eve"].headers)
    assert response.status_code == 404 and response.get_json()["error"]["code"] == "not_found"
    assert response.get_json()["error"]["message"].startswith(f"{named} does not exist")


def test_the_redraw_routes_are_in_the_openapi_document(client):
    paths = client.get("/openapi.json").get_json()["paths"]
    assert "post" in paths["/api/v1/practice/items/{item_id}/redraw"]
    assert "post" in paths["/api/v1/practice/derivations/{derivation_id}/redraw"]
