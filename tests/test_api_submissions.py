"""Submissions: stored and graded, read back by their author and instructors only."""

from __future__ import annotations

import json

import numpy as np
import pytest
import sqlalchemy as sa

import exercises
from grader.models import GradingJob, Submission

ITEMS = [
    {"kind": "softmax_jacobian", "K": 3, "points": 2.0},
    {"kind": "layer_jacobian", "n": 2, "K": 3, "max_attempts": 2},
]


def right_answer(instance: dict) -> str:
    exercise = exercises.get(instance["kind"])
    return json.dumps(exercise.reference(exercise.validate(instance)).tolist())


def transposed_answer(instance: dict) -> str:
    exercise = exercises.get(instance["kind"])
    return json.dumps(exercise.reference(exercise.validate(instance)).T.tolist())


@pytest.fixture
def homework(build, people):
    assignment_id, item_ids = build.assignment(people["course_id"], ITEMS)
    return {"assignment_id": assignment_id, "item_ids": item_ids, **people}


def my_instance(client, account, item_id) -> dict:
    response = client.get(f"/api/v1/items/{item_id}", headers=account.headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()["instance"]


def submit(client, account, item_id, answer, fmt="json"):
    return client.post(
        "/api/v1/submissions",
        json={"item_id": item_id, "answer": answer, "format": fmt},
        headers=account.headers,
    )


def test_right_answer_is_graded_and_stored(client, homework, build):
    alice, item_id = homework["alice"], homework["item_ids"][0]
    instance = my_instance(client, alice, item_id)
    response = submit(client, alice, item_id, right_answer(instance))
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["verdict"]["correct"] is True
    assert body["verdict"]["score"] == 1.0
    assert body["status"] == "graded"
    stored = build.get(Submission, body["id"])
    assert stored.correct is True and stored.instance == instance
    with build.sessionmaker() as session:
        job = session.scalar(sa.select(GradingJob).where(GradingJob.submission_id == body["id"]))
        assert (job.state, job.attempts, job.lease_owner) == ("done", 1, None)


def test_transposed_answer_names_the_mistake(client, homework):
    alice, item_id = homework["alice"], homework["item_ids"][1]
    instance = my_instance(client, alice, item_id)
    body = submit(client, alice, item_id, transposed_answer(instance)).get_json()
    assert body["verdict"]["correct"] is False
    assert "transpose" in body["codes"]


def test_each_student_has_their_own_reproducible_instance(client, homework):
    item_id = homework["item_ids"][1]
    alice_first = my_instance(client, homework["alice"], item_id)
    assert my_instance(client, homework["alice"], item_id) == alice_first
    assert my_instance(client, homework["bob"], item_id) != alice_first
    assert np.shape(alice_first["W"]) == (2, 3)
