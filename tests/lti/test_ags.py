"""Assignment and Grade Services: a graded submission's assignment score reaches the LMS's
line item, once, even when the LMS is down for a while; instructors see what waits or failed."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

import exercises
from grader.service import accounts, db
from grader.service.lti import ags
from grader.service.lti.models import LtiGradeSync, LtiIdentity
from grader.service.models import Assignment, GradingJob, Submission, User, utcnow
from tests.conftest import bearer, wait_for
from tests.lti.conftest import launch
from tests.lti.fake_platform import CLAIM, INSTRUCTOR, LEARNER

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def right_answer(instance: dict) -> str:
    exercise = exercises.get(instance["kind"])
    return json.dumps(exercise.reference(exercise.validate(instance)).tolist())


@pytest.fixture
def student(app, client, lms, course) -> dict[str, str]:
    """An LMS student who launched the assignment's link: the headers of an API token of theirs."""
    claims = lms.launch_claims(
        "student-1",
        [LEARNER],
        **{
            CLAIM + "custom": {"assignment_id": str(course.assignment_id)},
        },
    )
    assert launch(client, lms, claims).status_code == 302
    with db.database(app).sessionmaker.begin() as session:
        user = session.scalar(sa.select(User).join(LtiIdentity).where(LtiIdentity.sub == "student-1"))
        return bearer(accounts.issue_token(session, user))


def submit_right_answer(client, headers, item_id):
    instance = client.get(f"/api/v1/items/{item_id}", headers=headers).get_json()["instance"]
    response = client.post(
        "/api/v1/submissions",
        headers=headers,
        json={"item_id": item_id, "answer": right_answer(instance), "format": "json"},
    )
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["verdict"]["correct"] is True


def syncs(app) -> list[LtiGradeSync]:
    with db.database(app).sessionmaker() as session:
        return list(session.scalars(sa.select(LtiGradeSync)))


def deliver(app, now=None):
    return ags.deliver_due(db.database(app).sessionmaker, now=now)


def test_a_pass_with_nothing_due_reads_no_key(app, client, lms, course, student, monkeypatch):
    def no_key(session):
        raise AssertionError("the signing key was read with nothing to send")

    monkeypatch.setattr(ags.keys, "signing_key", no_key)
    report = deliver(app)
    assert (report.sent, report.failed, report.retrying) == (0, 0, 0)
    submit_right_answer(client, student, course.item_ids[0])
    with pytest.raises(AssertionError, match="nothing to send"):  # now there is one: the key is read
        deliver(app)


def test_a_graded_submission_sends_the_assignment_score(app, client, lms, course, student):
    submit_right_answer(client, student, course.item_ids[0])
    [sync] = syncs(app)
    assert sync.state == "waiting"

    report = deliver(app)
    assert report.sent == 1
    [score] = lms.recorded.scores
    assert score["userId"] == "student-1"
    assert score["scoreGiven"] == 2.0 and score["scoreMaximum"] == 3.0  # first item's 2 points of 3
    assert score["activityProgress"] == "InProgress"  # one of its two items answered
    assert score["gradingProgress"] == "FullyGraded"
    assert score["timestamp"].endswith("+00:00")
    assert lms.recorded.score_urls == ["/courses/42/lineitems/1/lineitem/scores"]
    [token_request] = lms.recorded.token_requests  # the assertion checked against the tool's JWKS
    assert token_request["scope"] == "https://purl.imsglobal.org/spec/lti-ags/scope/score"
    [sync] = syncs(app)
    assert (sync.state, sync.score_given, sync.score_maximum) == ("done", 2.0, 3.0)
    assert deliver(app).sent == 0  # nothing left to send


def test_an_unreadable_answer_leaves_the_score_fully_graded(app, client, lms, course, student):
    submit_right_answer(client, student, course.item_ids[0])
    unreadable = client.post("/api/v1/submissions", headers=student,
                             json={"item_id": course.item_ids[1], "answer": "[[1, oops", "format": "json"})
    assert [f["code"] for f in unreadable.get_json()["verdict"]["feedback"]] == ["parse"]
    assert deliver(app).sent == 1
    [score] = lms.recorded.scores
    # graded, with no score: nothing is pending (it would stay "Pending" in the LMS for ever)
    assert (score["scoreGiven"], score["gradingProgress"]) == (2.0, "FullyGraded")


def test_a_grading_failed_for_good_is_pending_manual(app, client, lms, course, student):
    submit_right_answer(client, student, course.item_ids[0])
    with db.database(app).sessionmaker.begin() as session:
        job = session.scalar(sa.select(GradingJob))
        job.state = "failed"  # as the last try leaves it, until the instructor regrades
        assignment = session.get(Assignment, course.assignment_id)
        user_id = session.scalar(sa.select(Submission.user_id))
        assert ags.assignment_score(session, assignment, user_id).grading == "PendingManual"
        job.state = "queued"
        assert ags.assignment_score(session, assignment, user_id).grading == "Pending"


def test_the_second_item_completes_the_activity(app, client, lms, course, student):
    submit_right_answer(client, student, course.item_ids[0])
    submit_right_answer(client, student, course.item_ids[1])
    assert deliver(app).sent == 1  # both verdicts: one sync, sent once with the newest score
    [score] = lms.recorded.scores
    assert score["scoreGiven"] == 3.0 and score["activityProgress"] == "Completed"


def test_a_score_waits_while_the_lms_is_down_and_arrives_once_it_is_up(app, client, lms, course, student):
    lms.down = True
    submit_right_answer(client, student, course.item_ids[0])
    now = utcnow()
    report = deliver(app, now)
    assert (report.sent, report.retrying) == (0, 1)
    [sync] = syncs(app)
    assert sync.state == "waiting" and sync.attempts == 1
    assert "503" in sync.last_error
    assert sync.next_attempt_at > now
    assert deliver(app, now).sent == 0  # not due yet: no hammering of a platform that is down

    lms.down = False
    later = now + timedelta(hours=2)
    assert deliver(app, later).sent == 1
    assert deliver(app, later + timedelta(hours=2)).sent == 0
    assert [score["scoreGiven"] for score in lms.recorded.scores] == [2.0]  # arrived, once
    assert syncs(app)[0].state == "done"


def test_a_score_the_lms_keeps_refusing_is_failed_and_shown_and_can_be_sent_again(
    app, client, lms, course, student
):
    lms.down = True
    submit_right_answer(client, student, course.item_ids[0])
    moment = utcnow()
    for _ in range(ags.MAX_ATTEMPTS):
        moment += timedelta(hours=2)
        deliver(app, moment)
    [sync] = syncs(app)
    assert sync.state == "failed" and sync.attempts == ags.MAX_ATTEMPTS

    teacher = course.teacher.headers
    listed = client.get("/api/v1/lti/grade-syncs", headers=teacher).get_json()
    assert listed["counts"] == {"waiting": 0, "done": 0, "failed": 1}
    [row] = listed["syncs"]
    assert row["state"] == "failed" and row["assignment_id"] == course.assignment_id
    assert "503" in row["last_error"]
    assert client.get("/api/v1/lti/grade-syncs", headers=student).status_code == 403

    lms.down = False
    retried = client.post(f"/api/v1/lti/grade-syncs/{row['id']}/retry", headers=teacher)
    assert retried.status_code == 200 and retried.get_json()["state"] == "waiting"
    assert deliver(app).sent == 1
    assert len(lms.recorded.scores) == 1


def test_instructor_page_lists_the_scores(app, client, lms, course, student):
    lms.down = True
    submit_right_answer(client, student, course.item_ids[0])
    deliver(app)
    teacher = app.test_client()  # another browser
    token = CSRF.search(teacher.get("/login").get_data(as_text=True)).group(1)
    logged_in = teacher.post(
        "/login", data={"name": "teacher", "password": "teacher-password", "csrf_token": token}
    )
    assert logged_in.status_code == 302
    page = teacher.get("/lti").get_data(as_text=True)
    assert "waiting" in page and "Homework 1" in page and "/lti/login" in page


def test_submissions_outside_lti_queue_nothing(app, client, lms, course, build):
    local = build.user("local-student")
    build.enrol(course.id, local)
    submit_right_answer(client, local.headers, course.item_ids[0])
    assert syncs(app) == []


def test_a_newer_verdict_during_a_send_sends_again(app, client, lms, course, student):
    submit_right_answer(client, student, course.item_ids[0])
    sessionmaker = db.database(app).sessionmaker
    with sessionmaker.begin() as session:
        claimed = ags.claim_due(session, utcnow())
    with sessionmaker() as session:
        due = ags.due_sends(session, claimed, utcnow())  # what a sender read, before the second verdict
    submit_right_answer(client, student, course.item_ids[1])
    ags.record_success(sessionmaker, due[0], utcnow())
    assert syncs(app)[0].state == "waiting"  # the newer score is still to go
    assert deliver(app).sent == 1


def test_a_claimed_score_is_left_to_its_sender_and_sent_by_another_once_the_claim_lapses(
    app, client, lms, course, student
):
    submit_right_answer(client, student, course.item_ids[0])
    sessionmaker = db.database(app).sessionmaker
    with sessionmaker.begin() as session:
        assert len(ags.claim_due(session, utcnow())) == 1  # a sender that dies before sending
    assert deliver(app).sent == 0  # the other senders leave it alone
    assert lms.recorded.scores == []
    with sessionmaker.begin() as session:
        assert ags.claim_due(session, utcnow()) == []
    later = utcnow() + timedelta(seconds=ags.CLAIM_SECONDS + 1)
    assert deliver(app, now=later).sent == 1
    assert [sync.state for sync in syncs(app)] == ["done"]


def test_a_new_verdict_on_a_claimed_score_makes_it_due_at_once(app, client, lms, course, student):
    submit_right_answer(client, student, course.item_ids[0])
    with db.database(app).sessionmaker.begin() as session:
        ags.claim_due(session, utcnow())
    submit_right_answer(client, student, course.item_ids[1])  # the newer score goes now
    assert deliver(app).sent == 1
    assert [score["scoreGiven"] for score in lms.recorded.scores] == [3.0]


def test_scores_earned_before_the_lms_gave_a_line_item_are_sent_when_it_does(
    app, client, lms, course
):
    custom = {CLAIM + "custom": {"assignment_id": str(course.assignment_id)}}
    claims = lms.launch_claims("student-1", [LEARNER], **custom)
    del claims["https://purl.imsglobal.org/spec/lti-ags/claim/endpoint"]  # no grade service yet
    assert launch(client, lms, claims).status_code == 302
    with db.database(app).sessionmaker.begin() as session:
        user = session.scalar(sa.select(User).join(LtiIdentity).where(LtiIdentity.sub == "student-1"))
        headers = bearer(accounts.issue_token(session, user))
    submit_right_answer(client, headers, course.item_ids[0])
    assert syncs(app) == []  # nowhere to send it

    launch(client, lms, lms.launch_claims("teacher-1", [INSTRUCTOR], **custom))  # now with a line item
    assert [sync.state for sync in syncs(app)] == ["waiting"]
    assert deliver(app).sent == 1
    assert lms.recorded.scores[0]["scoreGiven"] == 2.0


def test_the_background_sender_sends_a_new_score(app, client, lms, course, student):
    runner = ags.PushRunner(db.database(app).sessionmaker, sweep_seconds=0.2)
    runner.start()
    try:
        submit_right_answer(client, student, course.item_ids[0])
        assert wait_for(lambda: len(lms.recorded.scores) == 1)
    finally:
        runner.stop(timeout=10)
    assert syncs(app)[0].state == "done"


def test_a_failure_to_queue_the_lms_score_never_fails_the_grading(
    app, client, lms, course, student, monkeypatch
):
    def broken(*args, **kwargs):
        raise sa.exc.OperationalError("INSERT", None, RuntimeError("disk full"))

    monkeypatch.setattr(ags, "_mark_waiting", broken)
    submit_right_answer(client, student, course.item_ids[0])  # graded and stored all the same
    assert syncs(app) == []
