"""Submissions: stored and graded, read back by their author and instructors only."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
import sqlalchemy as sa

import exercises
from grader.service.models import GradingJob, Item, Submission
from tests.conftest import sqlite_only

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


SOFTMAX_JACOBIAN_SOURCE = """
import numpy as np

def softmax_jacobian(z):
    s = np.exp(z - z.max())
    s = s / s.sum()
    return np.diag(s) - np.outer(s, s)
"""


def test_function_answer_is_graded_in_the_sandbox(client, homework):
    body = submit(client, homework["alice"], homework["item_ids"][0], SOFTMAX_JACOBIAN_SOURCE,
                  "python").get_json()
    assert body["status"] == "graded"
    assert body["verdict"]["correct"] is True
    assert body["verdict"]["instances_total"] > 1


def test_author_and_instructor_read_a_submission_others_get_404(client, homework):
    alice, item_id = homework["alice"], homework["item_ids"][0]
    submission_id = submit(client, alice, item_id, "[[1, 0], [0, 1]]").get_json()["id"]
    url = f"/api/v1/submissions/{submission_id}"
    assert client.get(url, headers=alice.headers).status_code == 200
    assert client.get(url, headers=homework["teacher"].headers).status_code == 200
    for other in ("bob", "eve"):
        response = client.get(url, headers=homework[other].headers)
        assert response.status_code == 404
        assert response.get_json()["error"]["code"] == "not_found"
    assert client.get("/api/v1/submissions/999999", headers=alice.headers).status_code == 404


def test_instructor_of_another_course_cannot_read(client, homework, build):
    other = build.user("other-teacher", "instructor")
    build.course(other, [], code="CS50")
    alice, item_id = homework["alice"], homework["item_ids"][0]
    submission_id = submit(client, alice, item_id, "[1]").get_json()["id"]
    response = client.get(f"/api/v1/submissions/{submission_id}", headers=other.headers)
    assert response.status_code == 404


def test_student_cannot_submit_to_a_course_they_are_not_in(client, homework, build):
    response = submit(client, homework["eve"], homework["item_ids"][0], "[1]")
    assert response.status_code == 404
    with build.sessionmaker() as session:
        assert session.scalar(sa.select(sa.func.count(Submission.id))) == 0


def test_list_shows_only_my_submissions(client, homework):
    alice, bob, item_id = homework["alice"], homework["bob"], homework["item_ids"][0]
    submit(client, alice, item_id, "[1]")
    submit(client, bob, item_id, "[2]")
    mine = client.get(f"/api/v1/submissions?item_id={item_id}", headers=alice.headers).get_json()
    assert [s["user_id"] for s in mine["submissions"]] == [alice.id]


def test_attempts_run_out(client, homework):
    alice, item_id = homework["alice"], homework["item_ids"][1]  # max_attempts 2
    assert submit(client, alice, item_id, "[1]").status_code == 201
    assert submit(client, alice, item_id, "[1]").status_code == 201
    response = submit(client, alice, item_id, "[1]")
    assert response.status_code == 409
    assert response.get_json()["error"]["code"] == "no_attempts_left"
    item = client.get(f"/api/v1/items/{item_id}", headers=alice.headers).get_json()
    assert (item["attempts_used"], item["attempts_left"]) == (2, 0)


def test_submissions_are_rate_limited_per_user(app, client, homework):
    app.config["SUBMISSIONS_PER_MINUTE"] = 3
    alice, bob, item_id = homework["alice"], homework["bob"], homework["item_ids"][0]
    for _ in range(3):
        assert submit(client, alice, item_id, "[1]").status_code == 201
    response = submit(client, alice, item_id, "[1]")
    assert response.status_code == 429
    assert response.get_json()["error"]["code"] == "rate_limited"
    assert int(response.headers["Retry-After"]) >= 1
    assert submit(client, bob, item_id, "[1]").status_code == 201  # per user


def test_late_submission_is_kept_and_flagged(client, build, people):
    due = datetime.now(UTC) - timedelta(hours=1)
    _, (item_id,) = build.assignment(people["course_id"], ITEMS[:1], title="Past", due_at=due)
    body = submit(client, people["alice"], item_id, "[1]").get_json()
    assert body["late"] is True
    assert body["status"] == "graded"


def test_feedback_waits_for_the_due_date_when_asked(client, build, people):
    due = datetime.now(UTC) + timedelta(days=1)
    _, (item_id,) = build.assignment(
        people["course_id"], ITEMS[1:], title="Exam", due_at=due, feedback_before_due=False
    )
    instance = my_instance(client, people["alice"], item_id)
    body = submit(client, people["alice"], item_id, transposed_answer(instance)).get_json()
    assert body["feedback_hidden"] is True
    assert body["verdict"]["feedback"] == [] and body["codes"] is None
    teacher_view = client.get(
        f"/api/v1/submissions/{body['id']}", headers=people["teacher"].headers
    ).get_json()
    assert "transpose" in teacher_view["codes"]


@pytest.mark.parametrize(
    ("body", "status", "mentions"),
    [
        ({}, 422, "item_id"),
        ({"item_id": 1, "answer": "[1]"}, 422, "format"),
        ({"item_id": 1, "answer": "[1]", "format": "excel"}, 422, "format"),
        ({"item_id": "one", "answer": "[1]", "format": "json"}, 422, "item_id"),
        ({"item_id": 0, "answer": "[1]", "format": "json"}, 422, "item_id"),
        ({"item_id": 2**70, "answer": "[1]", "format": "json"}, 422, "item_id"),
        ({"item_id": 2**31, "answer": "[1]", "format": "json"}, 422, "item_id"),
        ({"item_id": 1, "answer": 5, "format": "json"}, 422, "answer"),
        ({"item_id": 1, "answer": "x" * 100_001, "format": "text"}, 422, "answer"),
        ({"item_id": 1, "answer": "[1]\x00", "format": "text"}, 422, "NUL"),
        ({"item_id": 1, "answer": "[1]", "format": "json", "extra": 1}, 422, "extra"),
        ([1, 2], 422, "body"),
        ({"item_id": 424242, "answer": "[1]", "format": "json"}, 404, "item"),
    ],
)
def test_malformed_bodies_are_clear_4xx(client, homework, body, status, mentions):
    response = client.post("/api/v1/submissions", json=body, headers=homework["alice"].headers)
    assert response.status_code == status
    error = response.get_json()["error"]
    assert mentions.lower() in error["message"].lower()


@pytest.mark.parametrize(
    ("data", "content_type", "status"),
    [
        ("{not json", "application/json", 400),
        ('{"item_id": 1}', "text/plain", 415),
        ("item_id=1", "application/x-www-form-urlencoded", 415),
        (b"\xff\xfe", "application/json", 400),
        ("[" * 100_000 + "]" * 100_000, "application/json", 400),
    ],
)
def test_bodies_that_are_not_json(client, homework, data, content_type, status):
    response = client.post(
        "/api/v1/submissions", data=data, content_type=content_type,
        headers=homework["alice"].headers,
    )
    assert response.status_code == status
    assert response.get_json()["error"]["message"]


@pytest.mark.parametrize(
    ("body", "problem"),
    [  # JSON the fast reader refuses and the standard library reads: judged as it reads them
        ('{"item_id": 99999999999999999999999, "answer": "1", "format": "json"}', "item_id"),
        ('{"item_id": NaN, "answer": "1", "format": "json"}', "item_id"),
        ('{"item_id": 1, "answer": Infinity, "format": "json"}', "valid string"),
    ],
)
def test_bodies_beyond_strict_json_are_validated(client, homework, body, problem):
    response = client.post("/api/v1/submissions", data=body, content_type="application/json",
                           headers=homework["alice"].headers)
    assert response.status_code == 422
    assert problem in response.get_json()["error"]["message"]


@pytest.mark.parametrize("item_id", [True, "1", 1.0, [1]])
def test_an_item_id_must_be_an_integer(client, homework, item_id):
    """JSON's true is not item 1: ids are strict integers."""
    response = client.post("/api/v1/submissions", headers=homework["alice"].headers,
                           json={"item_id": item_id, "answer": "[1]", "format": "json"})
    assert response.status_code == 422
    assert "item_id" in response.get_json()["error"]["message"]


@pytest.mark.parametrize("body", [{"count": True}, {"count": "3"}, {"kinds": ["softmax"], "count": 2.0}])
def test_practice_counts_are_strict_integers(client, homework, body):
    response = client.post("/api/v1/practice", headers=homework["alice"].headers, json=body)
    assert response.status_code == 422


def test_bad_json_says_where(client, homework):
    response = client.post("/api/v1/submissions", data='{"item_id": 1,}',
                           content_type="application/json", headers=homework["alice"].headers)
    assert response.status_code == 400
    assert "line 1 column" in response.get_json()["error"]["message"]


def test_unreadable_answer_is_a_verdict_not_an_error(client, homework):
    body = submit(client, homework["alice"], homework["item_ids"][0], "[[1, 2", "text").get_json()
    assert body["status"] == "graded"
    assert body["codes"] == ["parse"]


def test_students_never_see_the_expected_values_of_their_own_instance(client, homework):
    alice, item_id = homework["alice"], homework["item_ids"][0]
    instance = my_instance(client, alice, item_id)
    wrong = np.array(json.loads(right_answer(instance)))
    wrong[0, 0] += 1.0
    body = submit(client, alice, item_id, json.dumps(wrong.tolist())).get_json()
    entries = body["verdict"]["wrong_entries"]
    assert [e["index"] for e in entries] == [[0, 0]]
    assert entries[0]["expected"] is None and entries[0]["received"] == pytest.approx(wrong[0, 0])
    url = f"/api/v1/submissions/{body['id']}"
    seen_by_alice = client.get(url, headers=alice.headers).get_json()["verdict"]
    assert seen_by_alice["wrong_entries"][0]["expected"] is None
    seen_by_teacher = client.get(url, headers=homework["teacher"].headers).get_json()["verdict"]
    assert seen_by_teacher["wrong_entries"][0]["expected"] == pytest.approx(wrong[0, 0] - 1.0)


def test_a_failing_function_does_not_reveal_the_students_instance(client, homework):
    alice, item_id = homework["alice"], homework["item_ids"][0]
    body = submit(client, alice, item_id, "def softmax_jacobian(z):\n    return z", "python").get_json()
    failed = body["verdict"]["failed_instance"]
    assert failed["instance"] == my_instance(client, alice, item_id)
    assert "expected" not in failed and "received" in failed


@sqlite_only
@pytest.mark.config(SQLITE_BUSY_TIMEOUT_MS=200)
def test_a_database_locked_by_another_program_is_a_503(client, homework, database_url):
    import sqlite3

    alice, item_id = homework["alice"], homework["item_ids"][0]
    other = sqlite3.connect(sa.make_url(database_url).database, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")  # e.g. the sqlite3 shell in the middle of a change
        response = submit(client, alice, item_id, "[1]")
        assert response.status_code == 503, response.get_json()
        assert response.get_json()["error"]["code"] == "unavailable"
        assert response.headers["Retry-After"] == "1"
        other.execute("ROLLBACK")
    finally:
        other.close()
    assert submit(client, alice, item_id, "[1]").status_code == 201


def test_a_formula_is_graded_and_stored(client, homework, build):
    alice, item_id = homework["alice"], homework["item_ids"][1]
    response = submit(client, alice, item_id, "S_t (delta_ti - S_i) x_j", fmt="formula")
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["verdict"]["correct"] is True
    assert body["verdict"]["read_as"] == "(S_t * (delta_ti - S_i)) * x_j"
    assert build.get(Submission, body["id"]).format == "formula"
    wrong = submit(client, alice, item_id, "S_t (delta_ti - S_i)", fmt="formula").get_json()
    assert "missing_input_factor" in wrong["codes"]


def test_an_item_refuses_the_answer_forms_it_does_not_accept(client, build, people):
    _, (item_id,) = build.assignment(
        people["course_id"], [{"kind": "softmax", "K": 3, "answer_forms": ["formula"]}]
    )
    alice = people["alice"]
    refused = submit(client, alice, item_id, "[0.1, 0.2, 0.7]", fmt="json")
    assert refused.status_code == 409, refused.get_json()
    error = refused.get_json()["error"]
    assert error["code"] == "form_not_accepted" and "formula" in error["message"]
    assert submit(client, alice, item_id, "exp(z_i)/sum_k exp(z_k)", fmt="formula").status_code == 201
    item = client.get(f"/api/v1/items/{item_id}", headers=alice.headers).get_json()
    assert item["answer_forms"] == ["formula"]


def test_unreadable_answers_are_stored_but_use_no_attempt(client, homework):
    alice, item_id = homework["alice"], homework["item_ids"][1]  # two attempts
    for _ in range(3):
        body = submit(client, alice, item_id, "hello I think it is 0.5 maybe?", "text").get_json()
        assert body["verdict"]["feedback"][0]["code"] == "parse"
    item = client.get(f"/api/v1/items/{item_id}", headers=alice.headers).get_json()
    assert item["attempts_used"] == 0
    instance = item["instance"]
    for _ in range(2):
        assert submit(client, alice, item_id, transposed_answer(instance)).status_code == 201
    refused = submit(client, alice, item_id, right_answer(instance))
    assert refused.status_code == 409


# ---- answers to numbers drawn again since ------------------------------------------------


def item_view(client, account, item_id) -> dict:
    response = client.get(f"/api/v1/items/{item_id}", headers=account.headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def submit_to_draw(client, account, item_id, answer, draw_number):
    return client.post(
        "/api/v1/submissions",
        json={"item_id": item_id, "answer": answer, "format": "json", "draw_number": draw_number},
        headers=account.headers,
    )


def test_an_answer_to_a_draw_since_redrawn_is_a_409_and_stores_nothing(client, homework):
    alice, teacher, item_id = homework["alice"], homework["teacher"], homework["item_ids"][1]  # 2 attempts
    shown = item_view(client, alice, item_id)
    assert shown["draw_number"] == 0
    assert submit_to_draw(client, alice, item_id, "[1]", 0).status_code == 201
    redrawn = client.post(f"/api/v1/items/{item_id}/redraw",
                          json={"user_id": alice.id, "earlier_attempts": "keep"}, headers=teacher.headers)
    assert redrawn.status_code == 200 and redrawn.get_json()["draw_number"] == 1

    response = submit_to_draw(client, alice, item_id, right_answer(shown["instance"]), 0)
    assert response.status_code == 409
    error = response.get_json()["error"]
    assert error["code"] == "stale_version"
    assert "numbers changed" in error["message"] and "draw 1 is the current one" in error["message"]
    listed = client.get(f"/api/v1/submissions?item_id={item_id}", headers=alice.headers).get_json()
    assert len(listed["submissions"]) == 1  # the one before the re-draw only
    now = item_view(client, alice, item_id)
    assert (now["draw_number"], now["attempts_used"], now["attempts_left"]) == (1, 1, 1)
    assert now["instance"] != shown["instance"]
    assignment = client.get(f"/api/v1/assignments/{homework['assignment_id']}", headers=alice.headers)
    assert [item["draw_number"] for item in assignment.get_json()["items"]] == [0, 1]

    response = submit_to_draw(client, alice, item_id, right_answer(now["instance"]), 1)
    assert response.status_code == 201 and response.get_json()["verdict"]["correct"] is True
    assert response.get_json()["instance"] == now["instance"]


def test_an_answer_without_a_draw_number_is_to_the_current_instance(client, homework):
    alice, teacher, item_id = homework["alice"], homework["teacher"], homework["item_ids"][0]
    client.post(f"/api/v1/items/{item_id}/redraw", json={"user_id": alice.id}, headers=teacher.headers)
    now = item_view(client, alice, item_id)
    response = submit(client, alice, item_id, right_answer(now["instance"]))
    assert response.status_code == 201 and response.get_json()["verdict"]["correct"] is True


def test_an_answer_to_an_earlier_practice_version_is_a_409(client, homework):
    eve = homework["eve"]
    practice_set = client.post("/api/v1/practice", json={"kinds": ["softmax"], "count": 1, "derivations": 0},
                               headers=eve.headers).get_json()
    (item,) = practice_set["items"]
    assert item["draw_number"] == 0 and item_view(client, eve, item["id"])["draw_number"] == 0
    redrawn = client.post(f"/api/v1/practice/items/{item['id']}/redraw", json={"draw_number": 0},
                          headers=eve.headers)
    assert redrawn.status_code == 200 and redrawn.get_json()["draw_number"] == 1
    response = submit_to_draw(client, eve, item["id"], right_answer(item["instance"]), 0)
    assert response.status_code == 409 and response.get_json()["error"]["code"] == "stale_version"
    assert client.get("/api/v1/submissions", headers=eve.headers).get_json()["submissions"] == []
    assert item_view(client, eve, item["id"])["attempts_used"] == 0
    listed = client.get(f"/api/v1/practice/{practice_set['id']}", headers=eve.headers).get_json()
    assert listed["items"][0]["draw_number"] == 1


@pytest.mark.parametrize("draw_number", [-1, "0", 1.0, 2**31])
def test_a_draw_number_is_a_whole_number_of_a_draw(client, homework, draw_number):
    alice, item_id = homework["alice"], homework["item_ids"][0]
    response = submit_to_draw(client, alice, item_id, "[1]", draw_number)
    assert response.status_code == 422 and "draw_number" in response.get_json()["error"]["message"]


def test_an_answer_to_numbers_changed_on_the_same_draw_is_a_409_by_their_digest(client, homework, build):
    """An item's first draw, not yet stored, follows its sizes: changed since the caller read it
    (nobody had answered), the answer to the old numbers is refused, as one to an earlier draw."""
    alice, item_id = homework["alice"], homework["item_ids"][0]
    shown = item_view(client, alice, item_id)
    assert shown["draw_number"] == 0 and len(shown["instance_digest"]) == 16
    with build.sessionmaker.begin() as session:  # the instructor makes it larger
        session.get(Item, item_id).K = 4
    response = client.post("/api/v1/submissions", headers=alice.headers, json={
        "item_id": item_id, "answer": right_answer(shown["instance"]), "format": "json",
        "draw_number": 0, "instance_digest": shown["instance_digest"],
    })
    assert response.status_code == 409 and response.get_json()["error"]["code"] == "stale_version"
    assert "numbers changed" in response.get_json()["error"]["message"]
    assert client.get("/api/v1/submissions", headers=alice.headers).get_json()["submissions"] == []
    now = item_view(client, alice, item_id)
    assert now["draw_number"] == 0 and now["instance_digest"] != shown["instance_digest"]
    assert now["attempts_used"] == 0 and len(now["instance"]["z"]) == 4
    answered = client.post("/api/v1/submissions", headers=alice.headers, json={
        "item_id": item_id, "answer": right_answer(now["instance"]), "format": "json",
        "draw_number": 0, "instance_digest": now["instance_digest"],
    })
    assert answered.status_code == 201 and answered.get_json()["verdict"]["correct"] is True
    listed = client.get(f"/api/v1/assignments/{homework['assignment_id']}", headers=alice.headers).get_json()
    assert listed["items"][0]["instance_digest"] == now["instance_digest"]


@pytest.mark.parametrize("digest", ["", "0123", "0123456789ABCDEF", "g" * 16, "0" * 17, 12345])
def test_an_instance_digest_is_sixteen_hex_digits(client, homework, digest):
    alice, item_id = homework["alice"], homework["item_ids"][0]
    response = client.post("/api/v1/submissions", headers=alice.headers, json={
        "item_id": item_id, "answer": "[1]", "format": "json", "instance_digest": digest,
    })
    assert response.status_code == 422 and "instance_digest" in response.get_json()["error"]["message"]
