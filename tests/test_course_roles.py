"""Roles belong to a course: an instructor account enrolled as a student sees what a student sees.

Finding 6 of issue 12: an instructor account enrolled as a student saw expected
values, and feedback held until the due date. What a viewer sees of a course's work
follows their role in that course.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.conftest import Builder
from tests.test_answer_secrecy import assert_no_given_answer, permuted, zeros_source

ITEM = {"kind": "layer_jacobian", "layout": "denominator", "n": 2, "K": 3}


@pytest.fixture
def ivy(build: Builder, people: dict[str, Any]) -> Any:
    """An instructor account, a student in the teacher's course."""
    ivy = build.user("ivy", "instructor")
    build.enrol(people["course_id"], ivy)
    return ivy


def instance_of(client: Any, account: Any, item_id: int) -> dict[str, Any]:
    return client.get(f"/api/v1/items/{item_id}", headers=account.headers).get_json()["instance"]


def submit(client: Any, account: Any, item_id: int, answer: str, fmt: str) -> Any:
    response = client.post("/api/v1/submissions", headers=account.headers,
                           json={"item_id": item_id, "answer": answer, "format": fmt})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def test_an_instructor_enrolled_as_a_student_gets_no_expected_values(client, build, people, ivy):
    _, (item_id,) = build.assignment(people["course_id"], [ITEM])
    instance = instance_of(client, ivy, item_id)
    body = submit(client, ivy, item_id, zeros_source("layer_jacobian", instance), "python")
    assert_no_given_answer(body["verdict"], instance)
    again = client.get(f"/api/v1/submissions/{body['id']}", headers=ivy.headers).get_json()
    assert_no_given_answer(again["verdict"], instance)
    listed = client.get("/api/v1/submissions", headers=ivy.headers).get_json()["submissions"]
    assert_no_given_answer(listed[0]["verdict"], instance)
    # the course's own instructor sees the expected values of the student's instance
    teacher_view = client.get(f"/api/v1/submissions/{body['id']}",
                              headers=people["teacher"].headers).get_json()
    assert "expected" in teacher_view["verdict"]["failed_instance"]


def test_an_instructor_enrolled_as_a_student_waits_for_the_due_date(client, build, people, ivy):
    _, (item_id,) = build.assignment(
        people["course_id"], [{"kind": "softmax", "K": 3}], title="Quiz",
        due_at=datetime.now(UTC) + timedelta(days=7), feedback_before_due=False,
    )
    body = submit(client, ivy, item_id, "[1, 0, 0]", "json")
    assert body["feedback_hidden"] is True and body["verdict"]["feedback"] == []
    assert body["codes"] is None
    again = client.get(f"/api/v1/submissions/{body['id']}", headers=ivy.headers).get_json()
    assert again["feedback_hidden"] is True and again["verdict"]["feedback"] == []
    teacher_view = client.get(f"/api/v1/submissions/{body['id']}",
                              headers=people["teacher"].headers).get_json()
    assert teacher_view["feedback_hidden"] is False and teacher_view["verdict"]["feedback"]


def test_check_treats_an_instructor_enrolled_as_a_student_as_one(client, build, people, ivy):
    _, (item_id,) = build.assignment(people["course_id"], [ITEM])
    own = instance_of(client, ivy, item_id)
    refused = client.post("/api/v1/check", headers=ivy.headers,
                          json={"instance": own, "answer": "[[0]]", "format": "json"})
    assert refused.status_code == 409
    given = permuted(own)
    response = client.post("/api/v1/check", headers=ivy.headers, json={
        "instance": given, "answer": zeros_source("layer_jacobian", given), "format": "python"})
    assert response.status_code == 200, response.get_json()
    assert_no_given_answer(response.get_json(), given)


def test_an_instructor_in_no_course_as_a_student_still_sees_expected_values(client, people):
    given = {"kind": "softmax", "z": [1.0, 2.0, 3.0]}
    response = client.post("/api/v1/check", headers=people["teacher"].headers, json={
        "instance": given, "answer": zeros_source("softmax", given), "format": "python"})
    assert "expected" in response.get_json()["failed_instance"]


def test_the_pages_give_an_enrolled_instructor_no_instructors_view_of_the_course(client, build, people):
    iris = build.user("iris", "instructor", password="iris-password")
    build.enrol(people["course_id"], iris)
    csrf = client.get("/api/v1/session").get_json()["csrf_token"]
    client.post("/api/v1/session", json={"name": "iris", "password": "iris-password"},
                headers={"X-CSRFToken": csrf})
    for path in (f"/courses/{people['course_id']}", f"/courses/{people['course_id']}/gradebook.csv"):
        assert client.get(path).status_code == 403
