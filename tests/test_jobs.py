"""Grading jobs: every stored submission is graded exactly once, crashes and restarts included."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import sqlalchemy as sa

import exercises
from exercises import InstanceError
from grader.service import jobs, submissions, variants
from grader.service.models import GradingJob, Item, Submission, User, utcnow

POLICY = jobs.JobPolicy(lease_seconds=60, max_attempts=3)


@pytest.fixture
def item_id(build, people):
    _, (item_id,) = build.assignment(people["course_id"], [{"kind": "softmax", "K": 3, "max_attempts": 1}])
    return item_id


def store(build, account, item_id, owner="a-worker-that-died", right=True):
    """A submission stored with its job leased to ``owner``, as a request leaves it."""
    with build.sessionmaker() as session:
        user, item = session.get(User, account.id), session.get(Item, item_id)
        instance = variants.ensure(session, item, user.id).instance
        exercise, normal = exercises.validate(instance)
        answer = json.dumps((exercise.reference(normal) * (1 if right else 2)).tolist())
        _, work = submissions.accept(
            session, user, item, answer, "json", per_minute=100, owner=owner, policy=POLICY
        )
        session.commit()
        return work


def job_of(build, work):
    return build.get(GradingJob, work.job_id)


def test_the_request_path_grades_once(build, people, item_id):
    work = store(build, people["alice"], item_id, owner=jobs.WORKER_ID)
    outcome = jobs.run(build.engine, work, jobs.WORKER_ID, POLICY)
    assert outcome.stored and outcome.columns["correct"] is True
    job = job_of(build, work)
    assert (job.state, job.attempts, job.lease_owner) == ("done", 1, None)
    assert jobs.sweep(build.sessionmaker, policy=POLICY) == 0  # nothing left to do


def test_a_job_cut_short_is_graded_at_startup_without_using_attempts(build, people, item_id):
    work = store(build, people["alice"], item_id)  # its worker died holding a live lease
    assert build.get(Submission, work.submission_id).verdict is None
    assert jobs.sweep(build.sessionmaker, policy=POLICY) == 0  # the lease is still live
    assert jobs.sweep(build.sessionmaker, policy=POLICY, take_over_running=True) == 1
    submission = build.get(Submission, work.submission_id)
    assert submission.correct is True and submission.score == 1.0
    job = job_of(build, work)
    assert (job.state, job.attempts) == ("done", 2)
    with build.sessionmaker() as session:
        assert submissions.attempts_used(session, item_id, people["alice"].id) == 1
        assert session.scalar(sa.select(sa.func.count(Submission.id))) == 1


def test_a_late_finisher_does_not_grade_twice(build, people, item_id):
    work = store(build, people["alice"], item_id, owner="slow-worker")
    assert jobs.sweep(build.sessionmaker, policy=POLICY, take_over_running=True) == 1
    verdict = build.get(Submission, work.submission_id).verdict
    # the first worker wakes up and tries to store its (different) verdict
    from grader.judge.verdict import Verdict

    stale = Verdict(correct=False, score=0.0)
    assert jobs.finish(build.engine, work, "slow-worker", stale, 1.0) is None
    assert build.get(Submission, work.submission_id).verdict == verdict


def test_expired_leases_are_taken_over(build, people, item_id):
    work = store(build, people["alice"], item_id)
    with build.sessionmaker.begin() as session:
        session.get(GradingJob, work.job_id).lease_expires_at = utcnow() - timedelta(seconds=1)
    assert jobs.sweep(build.sessionmaker, owner="another", policy=POLICY) == 1
    assert job_of(build, work).state == "done"


def test_own_running_jobs_are_not_taken_at_startup(build, people, item_id):
    work = store(build, people["alice"], item_id, owner=jobs.WORKER_ID)
    assert jobs.sweep(build.sessionmaker, policy=POLICY, take_over_running=True) == 0
    assert job_of(build, work).state == "running"


def test_a_failing_grading_is_retried_then_given_up(build, people, item_id, monkeypatch):
    def broken(work):
        raise RuntimeError("the sandbox is away")

    monkeypatch.setattr(jobs, "grade", broken)
    work = store(build, people["alice"], item_id, owner=jobs.WORKER_ID)
    assert not jobs.run(build.engine, work, jobs.WORKER_ID, POLICY).stored
    job = job_of(build, work)
    assert (job.state, job.attempts) == ("queued", 1)
    assert "the sandbox is away" in job.last_error
    jobs.sweep(build.sessionmaker, policy=POLICY)
    job = job_of(build, work)
    assert (job.state, job.attempts) == ("failed", 3)
    assert build.get(Submission, work.submission_id).verdict is None


def test_a_failure_after_a_takeover_leaves_the_new_holders_job_alone(build, people, item_id):
    work = store(build, people["alice"], item_id, owner="slow-worker")
    assert jobs.sweep(build.sessionmaker, policy=POLICY, take_over_running=True) == 1
    done = job_of(build, work)
    jobs.fail(build.engine, work, "slow-worker", RuntimeError("late and broken"), POLICY)
    job = job_of(build, work)
    assert (job.state, job.attempts, job.last_error) == ("done", done.attempts, None)


def test_an_unusable_instance_fails_at_once(build, people, item_id, monkeypatch):
    def unusable(work):
        raise InstanceError("unknown kind 'retired'")

    monkeypatch.setattr(jobs, "grade", unusable)
    work = store(build, people["alice"], item_id, owner=jobs.WORKER_ID)
    jobs.run(build.engine, work, jobs.WORKER_ID, POLICY)
    job = job_of(build, work)
    assert (job.state, job.attempts) == ("failed", 1)


def test_pending_submission_reads_as_pending(client, build, people, item_id):
    work = store(build, people["alice"], item_id)
    body = client.get(f"/api/v1/submissions/{work.submission_id}", headers=people["alice"].headers).get_json()
    assert (body["status"], body["verdict"]) == ("pending", None)


def test_the_runner_recovers_then_keeps_sweeping(build, people, item_id):
    first = store(build, people["alice"], item_id)
    runner = jobs.JobRunner(build.sessionmaker, POLICY, sweep_seconds=0.05, owner="new-process")
    runner.start()
    try:
        assert runner.recovered.wait(10)
        assert job_of(build, first).state == "done"
        second = store(build, people["bob"], item_id, owner=None)  # queued, nobody's
        for _ in range(200):
            if job_of(build, second).state == "done":
                break
            runner.stopping.wait(0.05)
        assert job_of(build, second).state == "done"
    finally:
        runner.stop(timeout=5)
    assert not runner.is_alive()
    with build.sessionmaker() as session:
        assert jobs.counts(session) == {"done": 2}


def test_an_instructor_regrades_a_failed_submission(client, build, people, item_id, monkeypatch):
    def broken(work):
        raise InstanceError("the catalog was away")

    monkeypatch.setattr(jobs, "grade", broken)
    work = store(build, people["alice"], item_id, owner=jobs.WORKER_ID)
    jobs.run(build.engine, work, jobs.WORKER_ID, POLICY)
    url = f"/api/v1/submissions/{work.submission_id}"
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


def test_an_unavailable_sandbox_is_no_verdict_the_job_waits(build, people, item_id, monkeypatch):
    from grader.judge.verdict import Feedback, Verdict

    def sandbox_down(instance, answer, fmt, seed=None):
        message = "The sandbox is unavailable: bubblewrap is not installed. Your code was not run."
        return Verdict(
            correct=False, score=0.0, feedback=[Feedback(code="sandbox_unavailable", message=message)]
        )

    monkeypatch.setattr(jobs, "grade_answer", sandbox_down)
    work = store(build, people["alice"], item_id, owner=jobs.WORKER_ID)
    assert not jobs.run(build.engine, work, jobs.WORKER_ID, POLICY).stored
    job = job_of(build, work)
    assert (job.state, job.attempts) == ("queued", 1)
    assert "bubblewrap is not installed" in job.last_error
    assert build.get(Submission, work.submission_id).verdict is None
    monkeypatch.undo()  # the sandbox is back: the queued job is graded
    assert jobs.sweep(build.sessionmaker, policy=POLICY) == 1
    assert build.get(Submission, work.submission_id).correct is True


def test_a_server_that_starts_queues_what_was_left_running(build, people, item_id):
    left = store(build, people["alice"], item_id, owner="a-process-that-is-gone")
    finished = store(build, people["bob"], item_id, owner=jobs.WORKER_ID)
    jobs.run(build.engine, finished, jobs.WORKER_ID, POLICY)
    assert jobs.requeue_orphans(build.sessionmaker) == 1
    job = job_of(build, left)
    assert (job.state, job.lease_owner, job.lease_expires_at, job.attempts) == ("queued", None, None, 1)
    assert job_of(build, finished).state == "done"
    # a worker's ordinary sweep grades it, once, without taking over any live lease
    assert jobs.sweep(build.sessionmaker, policy=POLICY) == 1
    assert (job_of(build, left).state, job_of(build, left).attempts) == ("done", 2)
    assert build.get(Submission, left.submission_id).correct is True


def test_a_forked_process_leases_under_a_name_of_its_own():
    import os

    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child reports the name it would lease under
        os.write(write, jobs.WORKER_ID.encode())
        os._exit(0)
    os.close(write)
    child_name = os.read(read, 200).decode()
    os.close(read)
    os.waitpid(pid, 0)
    assert child_name and child_name != jobs.WORKER_ID
    assert child_name.split(":")[1] == str(pid)
