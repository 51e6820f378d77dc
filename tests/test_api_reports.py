"""Instructors' views: gradebook JSON and CSV, item statistics, a student's timeline."""

from __future__ import annotations

import csv
import io
import json

import pytest

import exercises


@pytest.fixture
def graded(client, build, people):
    """Alice: one wrong then one right on item 0; Bob: one transposed on item 1."""
    _, items = build.assignment(people["course_id"], [
        {"kind": "softmax", "K": 3, "points": 2.0},
        {"kind": "layer_jacobian", "n": 2, "K": 3, "points": 3.0},
    ], title="Homework 1")
    build.assignment(people["course_id"], [{"kind": "softmax", "K": 2}], title="Quiz, part 2")

    def answer(account, item_id, transform):
        instance = client.get(f"/api/v1/items/{item_id}", headers=account.headers).get_json()[
            "instance"]
        exercise, normal = exercises.validate(instance)
        text = json.dumps(transform(exercise.reference(normal)).tolist())
        response = client.post("/api/v1/submissions", headers=account.headers,
                               json={"item_id": item_id, "answer": text, "format": "json"})
        assert response.status_code == 201
        return response.get_json()

    answer(people["alice"], items[0], lambda a: a * 2)
    answer(people["alice"], items[0], lambda a: a)
    answer(people["bob"], items[1], lambda a: a.T)
    answer(people["teacher"], items[0], lambda a: -a)  # trying it out: not in the statistics
    return {**people, "items": items}


def test_gradebook_json(client, graded):
    body = client.get(f"/api/v1/courses/{graded['course_id']}/gradebook",
                      headers=graded["teacher"].headers).get_json()
    assert [a["title"] for a in body["assignments"]] == ["Homework 1", "Quiz, part 2"]
    rows = {row["user"]["name"]: row for row in body["students"]}
    assert set(rows) == {"alice", "bob"}
    alice_cell = next(c for c in rows["alice"]["items"] if c["item_id"] == graded["items"][0])
    assert alice_cell == {"item_id": graded["items"][0], "best_score": 1.0, "score": 1.0,
                          "points": 2.0, "attempts": 2, "late": False}
    assert rows["alice"]["total"] == 2.0
    assert rows["bob"]["total"] == 0.0


def test_gradebook_csv_is_in_canvas_form(client, graded):
    response = client.get(f"/api/v1/courses/{graded['course_id']}/gradebook.csv",
                          headers=graded["teacher"].headers)
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert rows[0] == ["Student", "SIS Login ID", "Section", "Homework 1", "Quiz, part 2"]
    assert rows[1] == ["    Points Possible", "", "", "5", "1"]
    assert rows[2] == ["Alice Liddell", "alice", "A", "2", "0"]
    assert rows[3] == ["Bob Marley", "bob", "A", "0", "0"]


def test_csv_cells_are_not_formulas(build, people):
    from grader.service import gradebook
    from grader.service.models import Course

    build.user("mallory", full_name="=HYPERLINK(\"http://x\")")
    with build.sessionmaker() as session:
        import sqlalchemy as sa

        from grader.service.models import Enrolment, User
        mallory = session.scalar(sa.select(User).where(User.name == "mallory"))
        session.add(Enrolment(course_id=people["course_id"], user_id=mallory.id, role="student"))
        session.commit()
        text = gradebook.to_csv(gradebook.build(session, session.get(Course, people["course_id"])))
    assert "'=HYPERLINK" in text


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r"])
@pytest.mark.parametrize("page", [False, True])
def test_csv_cells_starting_a_formula_are_quoted(client, build, start, page):
    """OWASP's list: a name, a section or a title starting so is text, not a formula."""
    formula = f"{start}2+5+cmd|' /C calc'!A0"
    teacher = build.user("tina", "instructor", password="tina-password")
    mallory = build.user("mallory", full_name=formula)
    course_id = build.course(teacher, [mallory], section=formula)
    build.assignment(course_id, [{"kind": "softmax", "K": 2}], title=formula)
    if page:  # the page's download, on a cookie session
        csrf = client.get("/api/v1/session").get_json()["csrf_token"]
        client.post("/api/v1/session", json={"name": "tina", "password": "tina-password"},
                    headers={"X-CSRFToken": csrf})
        response = client.get(f"/courses/{course_id}/gradebook.csv")
    else:
        response = client.get(f"/api/v1/courses/{course_id}/gradebook.csv", headers=teacher.headers)
    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True), newline="")))
    assert rows[0][-1] == "'" + formula
    student = next(row for row in rows if row[1] == "mallory")
    assert student[0] == student[2] == "'" + formula
    assert not any(cell.startswith(("=", "+", "-", "@", "\t", "\r")) for row in rows for cell in row)


def test_item_statistics(client, graded):
    stats = client.get(f"/api/v1/items/{graded['items'][0]}/stats",
                       headers=graded["teacher"].headers).get_json()
    assert (stats["attempts"], stats["graded"], stats["students"]) == (2, 2, 1)
    assert stats["mean_score"] == 0.5
    assert sum(b["count"] for b in stats["distribution"]) == 2
    assert stats["distribution"][-1]["count"] == 1  # the right one, score 1
    assert "scale" in stats["codes"]
    layer = client.get(f"/api/v1/items/{graded['items'][1]}/stats",
                       headers=graded["teacher"].headers).get_json()
    assert layer["codes"].get("transpose") == 1


def test_student_timeline(client, graded):
    url = f"/api/v1/courses/{graded['course_id']}/students/{graded['alice'].id}/timeline"
    body = client.get(url, headers=graded["teacher"].headers).get_json()
    assert [s["score"] for s in body["submissions"]] == [0.0, 1.0]
    assert client.get(url, headers=graded["alice"].headers).status_code == 403
    assert client.get(url, headers=graded["eve"].headers).status_code == 404
    outsider = f"/api/v1/courses/{graded['course_id']}/students/{graded['eve'].id}/timeline"
    assert client.get(outsider, headers=graded["teacher"].headers).status_code == 404


def test_statistics_are_for_instructors(client, graded):
    url = f"/api/v1/items/{graded['items'][0]}/stats"
    assert client.get(url, headers=graded["alice"].headers).status_code == 403
    assert client.get(url, headers=graded["eve"].headers).status_code == 404


def test_latest_policy_counts_the_latest(client, build, people):
    _, (item_id,) = build.assignment(people["course_id"], [{"kind": "softmax", "K": 2}],
                                     title="Latest", score_policy="latest")
    alice = people["alice"]
    instance = client.get(f"/api/v1/items/{item_id}", headers=alice.headers).get_json()["instance"]
    exercise, normal = exercises.validate(instance)
    for answer in (exercise.reference(normal), exercise.reference(normal) * 3):
        client.post("/api/v1/submissions", headers=alice.headers,
                    json={"item_id": item_id, "answer": json.dumps(answer.tolist()),
                          "format": "json"})
    item = client.get(f"/api/v1/items/{item_id}", headers=alice.headers).get_json()
    assert item["score"] == 0.0
