"""Grading jobs and the grading queue: every stored submission is graded exactly once,
crashes, restarts and database errors included."""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import pytest
import sqlalchemy as sa

import exercises
from exercises import InstanceError
from grader.judge.verdict import Feedback, Verdict
from grader.service import jobs, submissions, variants
from grader.service.models import GradingJob, Item, Submission, User, utcnow
from grader.service.queue import GradingQueue, grading_queue
from tests.conftest import sqlite_only, wait_for

POLICY = jobs.JobPolicy(lease_seconds=60, max_attempts=3)
LAPSED = timedelta(seconds=POLICY.lease_seconds + 1)  # when every lease taken now has lapsed


@pytest.fixture
def item_id(build, people):
    _, (item_id,) = build.assignment(people["course_id"], [{"kind": "softmax", "K": 3, "max_attempts": 1}])
    return item_id


@pytest.fixture
def queue(build) -> GradingQueue:
    return GradingQueue(build.sessionmaker, POLICY)


def right_answer(session, item, user_id, right=True) -> str:
    instance = variants.ensure(session, item, user_id).instance
    exercise, normal = exercises.validate(instance)
    return json.dumps((exercise.reference(normal) * (1 if right else 2)).tolist())


def store(build, account, item_id, queue: GradingQueue, right=True) -> GradingJob:
    """A submission stored with its job leased to ``queue``, as a request leaves it."""
    with build.sessionmaker() as session:
        user, item = session.get(User, account.id), session.get(Item, item_id)
        answer = right_answer(session, item, user.id, right)
        submission = submissions.submit(
            session, user, item, answer, "json", queue=queue, per_minute=100
        )
        return submission.job


def job_of(build, job: GradingJob) -> GradingJob:
    return build.get(GradingJob, job.id)


def job_for(build, submission_id: int) -> GradingJob:
    with build.sessionmaker() as session:
        return session.scalars(sa.select(GradingJob).where(GradingJob.submission_id == submission_id)).one()


def test_the_request_path_grades_once(build, people, item_id, queue):
    job = store(build, people["alice"], item_id, queue)
    verdict = queue.grade_now(job)
    assert verdict is not None and verdict.correct is True
    assert job.submission.correct is True and job.state == "done"  # shows what was stored
    stored = job_of(build, job)
    assert (stored.state, stored.attempts, stored.lease_owner) == ("done", 1, None)
    assert queue.sweep(now=utcnow() + LAPSED) == 0  # nothing left to do


def test_a_job_whose_process_died_is_graded_once_its_lease_lapses(build, people, item_id, queue):
    job = store(build, people["alice"], item_id, GradingQueue(build.sessionmaker, POLICY))
    assert build.get(Submission, job.submission_id).verdict is None
    assert queue.sweep() == 0  # the lease is still live
    assert queue.sweep(now=utcnow() + LAPSED) == 1
    submission = build.get(Submission, job.submission_id)
    assert submission.correct is True and submission.score == 1.0
    assert (job_of(build, job).state, job_of(build, job).attempts) == ("done", 2)
    with build.sessionmaker() as session:
        assert submissions.attempts_used(session, item_id, people["alice"].id) == 1
        assert session.scalar(sa.select(sa.func.count(Submission.id))) == 1


def test_a_late_finisher_does_not_grade_twice(build, people, item_id, queue):
    slow = GradingQueue(build.sessionmaker, POLICY)
    job = store(build, people["alice"], item_id, slow)
    held = jobs.Lease.of(job)
    assert queue.sweep(now=utcnow() + LAPSED) == 1
    verdict = build.get(Submission, job.submission_id).verdict
    # the first grader wakes up and tries to store its (different) verdict
    with build.sessionmaker() as session:
        assert jobs.finish(session, held, Verdict(correct=False, score=0.0), 1.0) is None
    assert build.get(Submission, job.submission_id).verdict == verdict


def test_a_lapsed_lease_of_its_own_is_taken_again_and_the_old_one_is_void(build, people, item_id, queue):
    job = store(build, people["alice"], item_id, queue)
    first = jobs.Lease.of(job)
    assert queue.sweep() == 0  # its own live lease: the request is grading it
    assert queue.sweep(now=utcnow() + LAPSED) == 1  # lapsed: its own process grades it
    # the first lease, same owner, one attempt earlier, stores nothing
    with build.sessionmaker() as session:
        assert jobs.finish(session, first, Verdict(correct=False, score=0.0), 1.0) is None
    assert build.get(Submission, job.submission_id).correct is True


def test_a_failing_grading_is_retried_then_given_up(build, people, item_id, queue, monkeypatch):
    def broken(held):
        raise RuntimeError("the sandbox is away")

    monkeypatch.setattr(jobs, "grade", broken)
    job = store(build, people["alice"], item_id, queue)
    assert queue.grade_now(job) is None
    stored = job_of(build, job)
    assert (stored.state, stored.attempts) == ("queued", 1)
    assert "the sandbox is away" in stored.last_error
    queue.sweep()
    stored = job_of(build, job)
    assert (stored.state, stored.attempts) == ("failed", 3)
    assert build.get(Submission, job.submission_id).verdict is None


def test_a_failure_after_a_takeover_leaves_the_new_holders_job_alone(build, people, item_id, queue):
    job = store(build, people["alice"], item_id, GradingQueue(build.sessionmaker, POLICY))
    held = jobs.Lease.of(job)
    assert queue.sweep(now=utcnow() + LAPSED) == 1
    done = job_of(build, job)
    with build.sessionmaker() as session:
        jobs.fail(session, held, RuntimeError("late and broken"), POLICY)
    stored = job_of(build, job)
    assert (stored.state, stored.attempts, stored.last_error) == ("done", done.attempts, None)


def test_an_unusable_instance_fails_at_once(build, people, item_id, queue, monkeypatch):
    def unusable(held):
        raise InstanceError("unknown kind 'retired'")

    monkeypatch.setattr(jobs, "grade", unusable)
    job = store(build, people["alice"], item_id, queue)
    queue.grade_now(job)
    stored = job_of(build, job)
    assert (stored.state, stored.attempts) == ("failed", 1)


def test_pending_submission_reads_as_pending(client, build, people, item_id, queue):
    job = store(build, people["alice"], item_id, queue)
    body = client.get(f"/api/v1/submissions/{job.submission_id}", headers=people["alice"].headers).get_json()
    assert (body["status"], body["verdict"]) == ("pending", None)


def test_the_sweeper_grades_in_the_background_until_stopped(build, people, item_id):
    queue = GradingQueue(build.sessionmaker, POLICY, sweep_seconds=0.05)
    with build.sessionmaker.begin() as session:  # queued, nobody's: as a restart leaves it
        job = store(build, people["bob"], item_id, queue)
        session.execute(sa.update(GradingJob).values(state="queued", lease_owner=None))
    queue.start()
    try:
        assert wait_for(lambda: job_of(build, job).state == "done")
    finally:
        queue.stop(timeout=5)
    assert not queue.sweeping
    with build.sessionmaker() as session:
        assert jobs.counts(session) == {"done": 1}


def test_an_instructor_regrades_a_failed_submission(app, client, build, people, item_id, monkeypatch):
    def broken(held):
        raise InstanceError("the catalog was away")

    monkeypatch.setattr(jobs, "grade", broken)
    queue = grading_queue(app)
    job = store(build, people["alice"], item_id, queue)
    queue.grade_now(job)
    url = f"/api/v1/submissions/{job.submission_id}"
    assert client.get(url, headers=people["alice"].headers).get_json()["status"] == "failed"
    assert client.post(f"{url}/regrade", headers=people["alice"].headers).status_code == 403
    assert client.post(f"{url}/regrade", headers=people["eve"].headers).status_code == 404
    monkeypatch.undo()
    response = client.post(f"{url}/regrade", headers=people["teacher"].headers)
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["status"] == "graded"
    assert response.get_json()["correct"] is True
    again = client.post(f"{url}/regrade", headers=people["teacher"].headers)
    assert again.status_code == 409
    with build.sessionmaker() as session:
        assert submissions.attempts_used(session, item_id, people["alice"].id) == 1


def test_an_unavailable_sandbox_is_no_verdict_the_job_waits(build, people, item_id, queue, monkeypatch):
    def sandbox_down(instance, answer, fmt, seed=None):
        message = "The sandbox is unavailable: bubblewrap is not installed. Your code was not run."
        return Verdict(
            correct=False, score=0.0, feedback=[Feedback(code="sandbox_unavailable", message=message)]
        )

    monkeypatch.setattr(jobs, "grade_answer", sandbox_down)
    job = store(build, people["alice"], item_id, queue)
    assert queue.grade_now(job) is None
    stored = job_of(build, job)
    assert (stored.state, stored.attempts) == ("queued", 1)
    assert "bubblewrap is not installed" in stored.last_error
    assert build.get(Submission, job.submission_id).verdict is None
    monkeypatch.undo()  # the sandbox is back: the queued job is graded
    assert queue.sweep() == 1
    assert build.get(Submission, job.submission_id).correct is True


def test_a_server_that_starts_queues_what_was_left_running(build, people, item_id, queue):
    left = store(build, people["alice"], item_id, GradingQueue(build.sessionmaker, POLICY))
    finished = store(build, people["bob"], item_id, queue)
    queue.grade_now(finished)
    with build.sessionmaker() as session:
        assert jobs.requeue(session) == 1
    stored = job_of(build, left)
    assert (stored.state, stored.lease_owner, stored.lease_expires_at, stored.attempts) == (
        "queued", None, None, 1
    )
    assert job_of(build, finished).state == "done"
    # an ordinary sweep grades it, once, without taking over any live lease
    assert queue.sweep() == 1
    assert (job_of(build, left).state, job_of(build, left).attempts) == ("done", 2)
    assert build.get(Submission, left.submission_id).correct is True


def test_a_dead_workers_jobs_and_only_its_are_queued_again(build, people, item_id, queue):
    mine = store(build, people["alice"], item_id, queue)
    other = store(build, people["bob"], item_id, GradingQueue(build.sessionmaker, POLICY))
    with build.sessionmaker() as session:
        # another process of this machine, whose pid starts like this one's
        assert jobs.requeue(session, jobs.owner_prefix(os.getpid() * 10)) == 0
        assert jobs.requeue(session, jobs.owner_prefix(os.getpid())) == 2
    assert {job_of(build, mine).state, job_of(build, other).state} == {"queued"}


def test_a_forked_process_leases_under_a_name_of_its_own(queue):
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child reports the name it would lease under
        os.write(write, queue.name.encode())
        os._exit(0)
    os.close(write)
    child_name = os.read(read, 200).decode()
    os.close(read)
    os.waitpid(pid, 0)
    assert child_name and child_name != queue.name
    assert child_name.startswith(jobs.owner_prefix(pid))


# ---- a stored submission is never reported as not stored (issue 12, finding 2) ------------


@contextmanager
def another_writer_once_graded(monkeypatch, database_url) -> Iterator[None]:
    """The reproduction: another writer takes SQLite's lock while an answer is graded and
    holds it, so that storing the verdict fails ("database is locked") after the
    submission is committed."""
    holder = sqlite3.connect(sa.make_url(database_url).database, isolation_level=None)
    grade = jobs.grade

    def grade_then_lock(held):
        verdict = grade(held)
        holder.execute("BEGIN IMMEDIATE")
        return verdict

    monkeypatch.setattr(jobs, "grade", grade_then_lock)
    try:
        yield
    finally:
        monkeypatch.setattr(jobs, "grade", grade)
        holder.rollback()
        holder.close()


def sweep_once_lapsed(app) -> int:
    queue = grading_queue(app)
    assert queue.sweep() == 0  # its lease is live: the request that took it may be grading
    return queue.sweep(now=utcnow() + timedelta(seconds=app.config["JOB_LEASE_SECONDS"] + 1))


@sqlite_only
@pytest.mark.config(SQLITE_BUSY_TIMEOUT_MS=100)
def test_a_busy_database_after_storing_answers_stored_and_pending(
    app, client, build, people, item_id, database_url, monkeypatch
):
    with build.sessionmaker() as session:
        answer = right_answer(session, session.get(Item, item_id), people["alice"].id)
    with another_writer_once_graded(monkeypatch, database_url):
        response = client.post(
            "/api/v1/submissions",
            json={"item_id": item_id, "answer": answer, "format": "json"},
            headers=people["alice"].headers,
        )
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert (body["status"], body["verdict"]) == ("pending", None)
    assert build.get(Submission, body["id"]).verdict is None
    assert job_for(build, body["id"]).state == "running"
    # graded by a sweep once its lease lapses: by any process, this one included
    assert sweep_once_lapsed(app) == 1
    again = client.get(f"/api/v1/submissions/{body['id']}", headers=people["alice"].headers)
    assert (again.get_json()["status"], again.get_json()["correct"]) == ("graded", True)
    assert job_for(build, body["id"]).attempts == 2


@sqlite_only
@pytest.mark.config(SQLITE_BUSY_TIMEOUT_MS=100)
def test_a_busy_database_after_storing_the_page_says_stored(app, client, build, database_url, monkeypatch):
    from tests.test_pages import PASSWORD, log_in, post

    teacher, carol = build.user("tess", "instructor"), build.user("carol", password=PASSWORD)
    _, (item_id,) = build.assignment(build.course(teacher, [carol]), [{"kind": "softmax", "K": 3}])
    with build.sessionmaker() as session:
        answer = right_answer(session, session.get(Item, item_id), carol.id)
    log_in(client, "carol")
    with another_writer_once_graded(monkeypatch, database_url):
        response = post(client, f"/items/{item_id}/submit", {"answer": answer, "format": "json"},
                        token_from=f"/items/{item_id}")
    assert response.status_code == 302, response.get_data(as_text=True)
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Your answer is stored." in page and "being graded" in page
    assert sweep_once_lapsed(app) == 1
    assert "correct, full marks" in client.get(f"/items/{item_id}").get_data(as_text=True)


@sqlite_only
@pytest.mark.config(SQLITE_BUSY_TIMEOUT_MS=100)
def test_a_busy_database_before_storing_stores_nothing(app, client, build, people, item_id, database_url):
    holder = sqlite3.connect(sa.make_url(database_url).database, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        response = client.post(
            "/api/v1/submissions",
            json={"item_id": item_id, "answer": "[1, 0, 0]", "format": "json"},
            headers=people["alice"].headers,
        )
    finally:
        holder.rollback()
        holder.close()
    assert response.status_code == 503
    assert "nothing was applied" in response.get_json()["error"]["message"]
    with build.sessionmaker() as session:
        assert session.scalar(sa.select(sa.func.count(Submission.id))) == 0
