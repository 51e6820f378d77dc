"""Where ``grader worker`` processes grade (the procrastinate queue), a verdict queues the LMS's
copy of the score in its own transaction, as in-process grading does, and wakes the web
processes' senders; a grading that fails for good moves no score, and its regrade sends one;
senders in several processes each take their own scores."""

from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa

from grader.service import db, jobs
from grader.service.lti import ags
from grader.service.models import utcnow
from grader.service.queue import grading_queue
from tests.conftest import wait_for
from tests.lti import test_ags
from tests.lti.test_ags import deliver, right_answer, syncs
from tests.test_remote_queue import drain

pytestmark = pytest.mark.config(GRADING_QUEUE="procrastinate", SUBMIT_WAIT_SECONDS=0)
student = test_ags.student  # an LMS student who launched the assignment's link


@pytest.fixture
def database_url(postgres_url: str) -> str:
    return postgres_url


def submit_right_answer(client, headers, item_id) -> int:
    """The submission's id, stored and left to the workers (202)."""
    instance = client.get(f"/api/v1/items/{item_id}", headers=headers).get_json()["instance"]
    response = client.post("/api/v1/submissions", headers=headers,
                           json={"item_id": item_id, "answer": right_answer(instance), "format": "json"})
    assert response.status_code == 202, response.get_json()
    return response.get_json()["id"]


def test_a_verdict_stored_by_a_worker_sends_the_assignment_score(app, client, lms, course, student,
                                                                 database_url):
    submit_right_answer(client, student, course.item_ids[0])
    assert syncs(app) == []  # nothing graded yet: nothing to send

    drain(database_url)
    [sync] = syncs(app)
    assert sync.state == "waiting"
    assert deliver(app).sent == 1
    [score] = lms.recorded.scores
    assert (score["userId"], score["scoreGiven"], score["gradingProgress"]) == (
        "student-1", 2.0, "FullyGraded")


def test_a_grading_failed_for_good_sends_nothing_and_its_regrade_sends_the_score(
    app, client, lms, course, student, database_url, monkeypatch
):
    real_grade = jobs.grade

    def sandbox_down(held):
        raise jobs.GraderUnavailable("the sandbox did not start")

    monkeypatch.setattr(jobs, "grade", sandbox_down)
    submission_id = submit_right_answer(client, student, course.item_ids[0])
    drain(database_url, tries=2)
    assert client.get(f"/api/v1/submissions/{submission_id}", headers=student).get_json()["status"] == (
        "failed")
    assert syncs(app) == []  # no verdict, no score moved

    monkeypatch.setattr(jobs, "grade", real_grade)
    regraded = client.post(f"/api/v1/submissions/{submission_id}/regrade", headers=course.teacher.headers)
    assert regraded.status_code == 200, regraded.get_json()
    drain(database_url)
    assert [sync.state for sync in syncs(app)] == ["waiting"]
    assert deliver(app).sent == 1
    assert [score["scoreGiven"] for score in lms.recorded.scores] == [2.0]


def test_a_new_verdict_from_a_worker_sets_a_sent_score_waiting_again(app, client, lms, course, student,
                                                                    database_url):
    submit_right_answer(client, student, course.item_ids[0])
    drain(database_url)
    assert deliver(app).sent == 1
    assert [sync.state for sync in syncs(app)] == ["done"]

    submit_right_answer(client, student, course.item_ids[1])  # the same (link, student): one sync
    drain(database_url)
    [sync] = syncs(app)
    assert (sync.state, sync.attempts) == ("waiting", 0)
    assert deliver(app).sent == 1
    assert [score["scoreGiven"] for score in lms.recorded.scores] == [2.0, 3.0]  # both items now


def listening(app) -> bool:
    """Whether this process's listener hears the scores' channel (a NOTIFY of our own)."""
    with db.database(app).engine.begin() as connection:
        connection.execute(sa.select(sa.func.pg_notify(ags.SCORES_CHANNEL, "")))
    return ags.wake.wait(0.2)


def test_a_score_moved_by_a_worker_wakes_the_web_processes_sender(app, client, lms, course, student,
                                                                  build, database_url):
    queue = grading_queue(app)
    queue.start()
    assert wait_for(lambda: listening(app))
    while ags.wake.wait(0.5):  # the earlier tries' NOTIFYs that come late
        ags.wake.clear()
    local = build.user("local-student")  # no LMS account: no score to send
    build.enrol(course.id, local)
    submit_right_answer(client, local.headers, course.item_ids[0])
    drain(database_url)
    assert not ags.wake.wait(0.5)

    submit_right_answer(client, student, course.item_ids[0])
    drain(database_url)
    assert ags.wake.wait(5)  # not left for the next sweep
    assert deliver(app).sent == 1


def test_senders_of_two_processes_take_each_score_once(app, client, lms, course, student, database_url):
    submit_right_answer(client, student, course.item_ids[0])
    drain(database_url)
    sessionmaker = db.database(app).sessionmaker
    claimed: list[list[int]] = []
    first_holds = threading.Event()
    second_done = threading.Event()

    def first() -> None:  # claims, and holds its transaction open while the other one claims
        with sessionmaker.begin() as session:
            claimed.append(ags.claim_due(session, utcnow()))
            first_holds.set()
            second_done.wait(10)

    thread = threading.Thread(target=first)
    thread.start()
    assert first_holds.wait(10)
    with sessionmaker.begin() as session:  # not kept waiting by the other's lock: passed over
        session.execute(sa.text("SET LOCAL lock_timeout = '2s'"))  # waiting would fail the test
        claimed.append(ags.claim_due(session, utcnow()))
    second_done.set()
    thread.join(10)
    with sessionmaker.begin() as session:  # once the first commits, its claim holds
        claimed.append(ags.claim_due(session, utcnow()))
    assert [len(ids) for ids in claimed] == [1, 0, 0]


def test_a_verdict_stored_while_the_link_gets_its_line_item_is_queued_too(
    app, client, lms, course, database_url, monkeypatch
):
    from grader.service.remote import grading
    from tests.lti.test_lineitems import student_launch, token_of

    lms.refuse_lineitems = True
    student_launch(client, lms, course)  # the hand-added link, stored without a line item
    submission_id = submit_right_answer(client, token_of(app, "student-1"), course.item_ids[0])
    lms.refuse_lineitems = False
    worker = sa.create_engine(database_url, poolclass=sa.NullPool)
    verdict = jobs.judge(grading.begin(worker, submission_id, "worker-1"), db.database(app).sessionmaker)
    queue_earned = ags.request_all

    def with_a_verdict_meanwhile(session, link, *, unqueued_only=False):
        queued = queue_earned(session, link, unqueued_only=unqueued_only)
        if not unqueued_only:  # a worker stores its verdict before the line item is committed
            assert grading.finish(worker, submission_id, verdict, 1.0)
        return queued

    monkeypatch.setattr(ags, "request_all", with_a_verdict_meanwhile)
    try:
        student_launch(app.test_client(), lms, course, "student-2")  # its launch gives the link one
    finally:
        worker.dispose()
    # the verdict saw no line item, and the first look did not see the verdict: the second does
    assert [sync.state for sync in syncs(app)] == ["waiting"]
    assert deliver(app).sent == 1
