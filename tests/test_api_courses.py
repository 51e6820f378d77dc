"""Courses and enrolments: instructors create and fill them; students only read theirs."""

from __future__ import annotations

import pytest


def test_instructor_creates_a_course_and_teaches_it(client, people):
    teacher = people["teacher"]
    response = client.post("/api/v1/courses", json={"code": "NN200", "title": "Nets"},
                           headers=teacher.headers)
    assert response.status_code == 201
    course = response.get_json()
    assert course["role"] == "instructor"
    codes = [c["code"] for c in client.get("/api/v1/courses", headers=teacher.headers)
             .get_json()["courses"]]
    assert codes == ["ML101", "NN200"]


def test_students_cannot_act_as_instructors(client, people):
    alice, course_id = people["alice"], people["course_id"]
    assert client.post("/api/v1/courses", json={"code": "X1", "title": "X"},
                       headers=alice.headers).status_code == 403
    for url in (f"/api/v1/courses/{course_id}/enrolments", f"/api/v1/courses/{course_id}/gradebook",
                f"/api/v1/courses/{course_id}/gradebook.csv"):
        response = client.get(url, headers=alice.headers)
        assert response.status_code == 403, url
        assert response.get_json()["error"]["code"] == "forbidden"
    response = client.post(f"/api/v1/courses/{course_id}/enrolments", json={"user": "eve"},
                           headers=alice.headers)
    assert response.status_code == 403


def test_outsiders_do_not_see_the_course(client, people):
    response = client.get(f"/api/v1/courses/{people['course_id']}", headers=people["eve"].headers)
    assert response.status_code == 404
    assert client.get("/api/v1/courses", headers=people["eve"].headers).get_json() == {"courses": []}


def test_student_reads_their_course(client, people):
    body = client.get(f"/api/v1/courses/{people['course_id']}",
                      headers=people["alice"].headers).get_json()
    assert (body["code"], body["role"]) == ("ML101", "student")


def test_enrolling_a_student(client, people):
    url = f"/api/v1/courses/{people['course_id']}/enrolments"
    teacher = people["teacher"]
    response = client.post(url, json={"user": "eve", "section": "B"}, headers=teacher.headers)
    assert response.status_code == 201
    assert response.get_json()["section"] == "B"
    names = [e["user"]["name"] for e in client.get(url, headers=teacher.headers)
             .get_json()["enrolments"]]
    assert sorted(names) == ["alice", "bob", "eve", "teacher"]
    assert client.get(f"/api/v1/courses/{people['course_id']}",
                      headers=people["eve"].headers).status_code == 200


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"user": "alice"}, 409),
        ({"user": "nobody"}, 404),
        ({"user": "eve", "role": "instructor"}, 422),
        ({"user": "eve", "role": "admin"}, 422),
        ({}, 422),
    ],
)
def test_bad_enrolments(client, people, body, status):
    response = client.post(f"/api/v1/courses/{people['course_id']}/enrolments", json=body,
                           headers=people["teacher"].headers)
    assert response.status_code == status
    assert response.get_json()["error"]["message"]


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"code": "ML101", "title": "Again"}, 409),
        ({"code": "", "title": "Empty"}, 422),
        ({"code": "has space", "title": "Bad"}, 422),
        ({"code": "OK1"}, 422),
    ],
)
def test_bad_courses(client, people, body, status):
    response = client.post("/api/v1/courses", json=body, headers=people["teacher"].headers)
    assert response.status_code == status
