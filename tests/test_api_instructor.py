"""The instructor tools' API: regrading (dry run, apply, history), extensions, and the 4xx."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

import exercises
from grader.service.models import Submission, utcnow

DUE = utcnow().replace(microsecond=0) - timedelta(days=1)


@pytest.fixture
def homework(client, build, people):
    assignment_id, items = build.assignment(
        people["course_id"], [{"kind": "softmax", "K": 3, "max_attempts": 1}], due_at=DUE
    )

    def answer(account, transform=lambda a: a):
        instance = client.get(f"/api/v1/items/{items[0]}", headers=account.headers).get_json()[
            "instance"]
        exercise, normal = exercises.validate(instance)
        text = json.dumps(transform(exercise.reference(normal)).tolist())
        return client.post("/api/v1/submissions", headers=account.headers,
                           json={"item_id": items[0], "answer": text, "format": "json"})

    return {**people, "assignment_id": assignment_id, "item_id": items[0], "answer": answer}


def test_a_dry_run_then_apply_with_new_points(client, build, homework):
    teacher, url = homework["teacher"].headers, f"/api/v1/assignments/{homework['assignment_id']}/regrade"
    submission_id = homework["answer"](homework["alice"]).get_json()["id"]
    body = {"items": [{"item_id": homework["item_id"], "points": 4}]}
    dry = client.post(url, headers=teacher, json=body).get_json()
    assert (dry["applied"], dry["regraded"], dry["replaced"]) == (False, 1, 0)
    assert [(s["name"], s["old_points"], s["new_points"]) for s in dry["students"]] == [
        ("alice", 1.0, 4.0)]
    applied = client.post(url, headers=teacher, json={**body, "apply": True}).get_json()
    assert applied["applied"] is True
    history = client.get(f"/api/v1/submissions/{submission_id}/history", headers=teacher)
    assert history.status_code == 200 and history.get_json()["past"] == []  # same verdict
    book = client.get(f"/api/v1/courses/{homework['course_id']}/gradebook", headers=teacher)
    rows = {row["user"]["name"]: row for row in book.get_json()["students"]}
    assert rows["alice"]["total"] == 4.0


def test_a_regraded_verdict_shows_in_the_history(client, build, homework):
    teacher = homework["teacher"].headers
    submission_id = homework["answer"](homework["alice"]).get_json()["id"]
    with build.sessionmaker.begin() as session:
        submission = session.get(Submission, submission_id)
        submission.verdict = {**submission.verdict, "grader_version": "0.0.1"}
    url = f"/api/v1/assignments/{homework['assignment_id']}/regrade"
    assert client.post(url, headers=teacher, json={"apply": True}).get_json()["replaced"] == 1
    past = client.get(f"/api/v1/submissions/{submission_id}/history", headers=teacher).get_json()
    assert [p["grader_version"] for p in past["past"]] == ["0.0.1"]
    # its author does not see the history
    mine = client.get(f"/api/v1/submissions/{submission_id}/history",
                      headers=homework["alice"].headers)
    assert mine.status_code == 404


@pytest.mark.parametrize(
    "body, status",
    [
        ({"items": [{"item_id": 999999, "points": 2}]}, 422),
        ({"items": [{"item_id": 1, "max_attempts": 2, "unlimited_attempts": True}]}, 422),
        ({"items": [{"item_id": 1, "points": -1}]}, 422),
        ({"apply": "yes please"}, 422),
        ({"surprise": 1}, 422),
    ],
)
def test_bad_regrade_requests_are_4xx(client, homework, body, status):
    url = f"/api/v1/assignments/{homework['assignment_id']}/regrade"
    assert client.post(url, headers=homework["teacher"].headers, json=body).status_code == status


def test_students_and_strangers_may_not_regrade(client, homework):
    url = f"/api/v1/assignments/{homework['assignment_id']}/regrade"
    assert client.post(url, headers=homework["alice"].headers, json={}).status_code == 403
    assert client.post(url, headers=homework["eve"].headers, json={}).status_code == 404
    assert client.post("/api/v1/assignments/0/regrade", headers=homework["teacher"].headers,
                       json={}).status_code == 404


def test_an_extension_makes_a_late_answer_on_time_and_gives_an_attempt(client, homework):
    teacher, alice = homework["teacher"].headers, homework["alice"]
    first = homework["answer"](alice, lambda a: 2 * a)
    assert client.get(f"/api/v1/submissions/{first.get_json()['id']}",
                      headers=teacher).get_json()["late"] is True
    assert homework["answer"](alice).status_code == 409  # the one attempt is used
    url = f"/api/v1/assignments/{homework['assignment_id']}/extensions"
    later = (utcnow() + timedelta(days=2)).isoformat()
    given = client.put(url, headers=teacher,
                       json={"user_id": alice.id, "due_at": later, "extra_attempts": 1})
    assert given.status_code == 200, given.get_json()
    assert client.get(f"/api/v1/submissions/{first.get_json()['id']}",
                      headers=teacher).get_json()["late"] is False
    second = homework["answer"](alice)
    assert second.status_code == 201
    book = client.get(f"/api/v1/courses/{homework['course_id']}/gradebook", headers=teacher)
    rows = {row["user"]["name"]: row for row in book.get_json()["students"]}
    assert rows["alice"]["items"][0]["late"] is False and rows["alice"]["total"] == 1.0
    listed = client.get(url, headers=teacher).get_json()["extensions"]
    assert [(e["user_id"], e["extra_attempts"]) for e in listed] == [(alice.id, 1)]
    gone = client.delete(f"/api/v1/extensions/{listed[0]['id']}", headers=teacher)
    assert gone.status_code == 204
    assert client.get(url, headers=teacher).get_json()["extensions"] == []
    assert client.get(f"/api/v1/submissions/{second.get_json()['id']}",
                      headers=teacher).get_json()["late"] is True


@pytest.mark.parametrize(
    "body, status",
    [
        ({"user_id": 999999}, 404),
        ({"user_id": "me"}, 422),
        ({"due_at": "2027-01-01T00:00:00"}, 422),  # no time zone
        ({"extra_attempts": -2}, 422),
        ({"item_id": 999999}, 422),
    ],
)
def test_bad_extensions_are_4xx(client, homework, body, status):
    url = f"/api/v1/assignments/{homework['assignment_id']}/extensions"
    body = {"user_id": homework["alice"].id, **body}
    assert client.put(url, headers=homework["teacher"].headers, json=body).status_code == status


def test_students_may_not_give_themselves_extensions(client, homework):
    url = f"/api/v1/assignments/{homework['assignment_id']}/extensions"
    alice = homework["alice"]
    assert client.put(url, headers=alice.headers, json={"user_id": alice.id}).status_code == 403
    assert client.delete("/api/v1/extensions/1", headers=alice.headers).status_code == 404


def test_the_new_calls_are_in_the_openapi_document(client):
    paths = client.get("/openapi.json").get_json()["paths"]
    assert "post" in paths["/api/v1/assignments/{assignment_id}/regrade"]
    assert {"get", "put"} <= set(paths["/api/v1/assignments/{assignment_id}/extensions"])
    assert "delete" in paths["/api/v1/extensions/{extension_id}"]
    assert "get" in paths["/api/v1/submissions/{submission_id}/history"]


def test_the_other_instance_report_names_both_students(client, build, homework):
    from grader.service import variants
    from grader.service.models import Item

    with build.sessionmaker() as session:
        bobs = variants.ensure(session, session.get(Item, homework["item_id"]), homework["bob"].id)
        session.commit()
        exercise, normal = exercises.validate(bobs.instance)
        text = json.dumps(exercise.reference(normal).tolist())
    response = client.post("/api/v1/submissions", headers=homework["alice"].headers,
                           json={"item_id": homework["item_id"], "answer": text, "format": "json"})
    assert response.get_json()["verdict"]["feedback"][0]["code"] == "other_instance"
    url = f"/api/v1/assignments/{homework['assignment_id']}/other-instances"
    body = client.get(url, headers=homework["teacher"].headers).get_json()
    (match,) = body["matches"]
    assert (match["student"]["name"], [u["name"] for u in match["matched"]]) == ("alice", ["bob"])
    assert client.get(url, headers=homework["alice"].headers).status_code == 403


def test_a_student_sees_their_own_date_and_attempts(client, homework):
    teacher, alice, bob = homework["teacher"].headers, homework["alice"], homework["bob"]
    later = (utcnow() + timedelta(days=2)).replace(microsecond=0)
    url = f"/api/v1/assignments/{homework['assignment_id']}/extensions"
    client.put(url, headers=teacher,
               json={"user_id": alice.id, "due_at": later.isoformat(), "extra_attempts": 2})
    homework["answer"](alice)
    item = client.get(f"/api/v1/items/{homework['item_id']}", headers=alice.headers).get_json()
    assert (item["max_attempts"], item["attempts_used"], item["attempts_left"]) == (3, 1, 2)
    mine = client.get(f"/api/v1/assignments/{homework['assignment_id']}", headers=alice.headers)
    assert mine.get_json()["due_at"].startswith(later.isoformat()[:19])
    theirs = client.get(f"/api/v1/items/{homework['item_id']}", headers=bob.headers).get_json()
    assert theirs["max_attempts"] == 1
    bobs = client.get(f"/api/v1/assignments/{homework['assignment_id']}", headers=bob.headers)
    assert bobs.get_json()["due_at"].startswith(DUE.isoformat()[:19])
