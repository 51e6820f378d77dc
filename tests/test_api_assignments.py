"""Assignments: created and edited by instructors; each student gets their own instances."""

from __future__ import annotations

import pytest

HOMEWORK = {
    "title": "Homework 2",
    "due_at": "2030-01-01T12:00:00+01:00",
    "score_policy": "latest",
    "feedback_before_due": False,
    "items": [
        {"kind": "layer_jacobian", "n": 2, "K": 3, "points": 3, "max_attempts": 4},
        {"kind": "logits_weight_jacobian", "n": 2, "K": 2, "layout": "denominator"},
    ],
}


def create(client, people, body=HOMEWORK):
    return client.post(f"/api/v1/courses/{people['course_id']}/assignments", json=body,
                       headers=people["teacher"].headers)


def test_instructor_creates_an_assignment(client, people):
    response = create(client, people)
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["due_at"].startswith("2030-01-01T11:00:00")  # stored in UTC
    assert body["points"] == 4
    assert [i["kind"] for i in body["items"]] == ["layer_jacobian", "logits_weight_jacobian"]
    assert body["items"][1]["layout"] == "denominator"


def test_students_see_their_own_instances_and_standing(client, people):
    assignment_id = create(client, people).get_json()["id"]
    alice = client.get(f"/api/v1/assignments/{assignment_id}", headers=people["alice"].headers)
    bob = client.get(f"/api/v1/assignments/{assignment_id}", headers=people["bob"].headers)
    alice_items, bob_items = alice.get_json()["items"], bob.get_json()["items"]
    assert alice_items[0]["instance"]["kind"] == "layer_jacobian"
    assert alice_items[0]["instance"] != bob_items[0]["instance"]
    assert alice_items[0]["statement"] and alice_items[0]["statement_latex"]
    assert (alice_items[0]["attempts_used"], alice_items[0]["attempts_left"]) == (0, 4)
    listed = client.get(f"/api/v1/courses/{people['course_id']}/assignments",
                        headers=people["alice"].headers).get_json()["assignments"]
    assert listed[0]["items"][0]["instance"] == alice_items[0]["instance"]


def test_outsiders_cannot_see_the_assignment(client, people):
    assignment_id = create(client, people).get_json()["id"]
    item_id = create(client, people, {**HOMEWORK, "title": "Other"}).get_json()["items"][0]["id"]
    eve = people["eve"].headers
    assert client.get(f"/api/v1/assignments/{assignment_id}", headers=eve).status_code == 404
    assert client.get(f"/api/v1/items/{item_id}", headers=eve).status_code == 404
    assert client.get(f"/api/v1/courses/{people['course_id']}/assignments",
                      headers=eve).status_code == 404


@pytest.mark.parametrize(
    ("change", "mentions"),
    [
        ({"items": [{"kind": "nonsense"}]}, "unknown kind"),
        ({"items": [{"kind": "softmax", "layout": "denominator"}]}, "layout"),
        ({"items": [{"kind": "softmax", "K": 65}]}, "K"),
        ({"items": [{"kind": "softmax", "points": 0}]}, "points"),
        ({"items": []}, "items"),
        ({"due_at": "2030-01-01T12:00:00"}, "timezone"),
        ({"score_policy": "worst"}, "score_policy"),
        ({"title": ""}, "title"),
    ],
)
def test_bad_assignments_are_refused(client, people, change, mentions):
    response = create(client, people, {**HOMEWORK, **change})
    assert response.status_code == 422
    assert mentions.lower() in response.get_json()["error"]["message"].lower()


def test_titles_are_unique_in_a_course(client, people):
    assert create(client, people).status_code == 201
    response = create(client, people)
    assert response.status_code == 409


def test_students_cannot_create_or_edit(client, people):
    response = client.post(f"/api/v1/courses/{people['course_id']}/assignments", json=HOMEWORK,
                           headers=people["alice"].headers)
    assert response.status_code == 403
    assignment_id = create(client, people).get_json()["id"]
    response = client.patch(f"/api/v1/assignments/{assignment_id}", json={"title": "Mine"},
                            headers=people["alice"].headers)
    assert response.status_code == 403


def test_instructor_edits_an_assignment(client, people):
    assignment_id = create(client, people).get_json()["id"]
    url = f"/api/v1/assignments/{assignment_id}"
    teacher = people["teacher"].headers
    response = client.patch(url, json={"title": "Homework 2b", "due_at": None}, headers=teacher)
    assert response.status_code == 200
    assert (response.get_json()["title"], response.get_json()["due_at"]) == ("Homework 2b", None)
    assert client.patch(url, json={"title": None}, headers=teacher).status_code == 422
    assert client.patch(url, json={"points": 3}, headers=teacher).status_code == 422


def test_instructor_redraws_one_students_instance(client, people):
    item_id = create(client, people).get_json()["items"][0]["id"]
    alice, bob = people["alice"], people["bob"]
    before = client.get(f"/api/v1/items/{item_id}", headers=alice.headers).get_json()["instance"]
    bob_before = client.get(f"/api/v1/items/{item_id}", headers=bob.headers).get_json()["instance"]
    response = client.post(f"/api/v1/items/{item_id}/redraw", json={"user_id": alice.id},
                           headers=people["teacher"].headers)
    assert response.status_code == 200
    assert response.get_json()["draw_number"] == 1
    after = client.get(f"/api/v1/items/{item_id}", headers=alice.headers).get_json()["instance"]
    assert after != before and after == response.get_json()["instance"]
    assert client.get(f"/api/v1/items/{item_id}", headers=bob.headers).get_json()["instance"] == (
        bob_before
    )


@pytest.mark.parametrize(("who", "target", "status"), [
    ("alice", "bob", 403), ("teacher", "eve", 404), ("teacher", "teacher", 404)
])
def test_bad_redraws(client, people, who, target, status):
    item_id = create(client, people).get_json()["items"][0]["id"]
    response = client.post(f"/api/v1/items/{item_id}/redraw", json={"user_id": people[target].id},
                           headers=people[who].headers)
    assert response.status_code == status


def test_an_item_accepts_every_answer_form_unless_the_instructor_chooses(client, people):
    chosen = {**HOMEWORK["items"][0], "answer_forms": ["function", "formula", "formula"]}
    items = [chosen, HOMEWORK["items"][1]]
    body = create(client, people, {**HOMEWORK, "items": items}).get_json()
    assert body["items"][0]["answer_forms"] == ["formula", "function"]
    assert body["items"][1]["answer_forms"] == ["matrix", "formula", "function"]
    for forms in ([], ["essay"]):
        item = {"kind": "softmax", "answer_forms": forms}
        refused = create(client, people, {**HOMEWORK, "title": "Other", "items": [item]})
        assert refused.status_code == 422 and "answer_forms" in refused.get_json()["error"]["message"]
