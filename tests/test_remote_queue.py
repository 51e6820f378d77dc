"""The procrastinate queue on a real PostgreSQL server: a submission and its task stored
together, the wait for a verdict (201, else 202 then GET), failures that keep the attempt."""

from __future__ import annotations

import json
import logging
import re
import threading
import time

import pytest
import sqlalchemy as sa

import exercises
from grader.judge.verdict import Verdict
from grader.service import jobs, submissions, variants
from grader.service.models import GradingJob, Item, Submission, User
from grader.service.queue import grading_queue
from grader.service.remote import grading, worker
from grader.service.remote.database import adopt_orphans, defer_grading, refresh_statistics
from grader.service.remote.web import RemoteQueue

pytestmark = pytest.mark.config(GRADING_QUEUE="procrastinate", SUBMIT_WAIT_SECONDS=0)
ITEMS = [{"kind": "softmax_jacobian", "n": 3, "max_attempts": 2}]
TASKS = sa.text("SELECT args FROM procrastinate_jobs WHERE task_name = 'grade_submission'")
COUNTED = sa.text("SELECT reltuples FROM pg_class WHERE oid = 'procrastinate_jobs'::regclass")


@pytest.fixture
def database_url(postgres_url: str) -> str:
    return postgres_url


@pytest.fixture
def item_id(build, people) -> int:
    return build.assignment(people["course_id"], ITEMS)[1][0]


def right_answer(build, account, item_id) -> str:
    with build.sessionmaker.begin() as session:
        instance = variants.ensure(session, session.get(Item, item_id), account.id).instance
    exercise, normal = exercises.validate(instance)
    return json.dumps(exercise.reference(normal).tolist())


def post(client, account, item_id, answer):
    return client.post("/api/v1/submissions", headers=account.headers,
                       json={"item_id": item_id, "answer": answer, "format": "json"})


def drain(url: str, tries: int = 3) -> None:
    """Grade in this process what the queue holds, as a worker does, until it is empty."""
    config = worker.WorkerConfig(url, concurrency=1, tries=tries, retry_seconds=0)
    engine = sa.create_engine(url, poolclass=sa.NullPool)
    grader = worker.Grader(config, engine)
    try:
        worker.build_app(config, grader).run_worker(
            queues=["grading"], wait=False, install_signal_handlers=False, listen_notify=False,
            additional_context={"grader": grader},
        )
    finally:
        engine.dispose()


def test_the_app_takes_the_procrastinate_queue(app):
    assert isinstance(grading_queue(app), RemoteQueue)


def test_a_submission_is_stored_with_its_task(app, build, people, item_id):
    with build.sessionmaker() as session:
        submission = submissions.submit(
            session, session.get(User, people["alice"].id), session.get(Item, item_id),
            right_answer(build, people["alice"], item_id), "json",
            queue=grading_queue(app), per_minute=30,
        )
        tasks = session.execute(TASKS).scalars().all()
    assert tasks == [{"submission_id": submission.id}]
    assert build.get(GradingJob, submission.job.id).state == "queued"


def test_a_transaction_that_fails_after_the_defer_leaves_neither(app, build, people, item_id, monkeypatch):
    enqueue = RemoteQueue.enqueue

    def then_fail(self, session, submission):
        enqueue(self, session, submission)
        raise RuntimeError("the request died before its commit")

    monkeypatch.setattr(RemoteQueue, "enqueue", then_fail)
    with build.sessionmaker() as session, pytest.raises(RuntimeError):
        submissions.submit(
            session, session.get(User, people["alice"].id), session.get(Item, item_id), "[[1]]",
            "json", queue=grading_queue(app), per_minute=30,
        )
    with build.sessionmaker() as session:
        assert session.scalar(sa.select(sa.func.count(Submission.id))) == 0
        assert session.execute(TASKS).all() == []


def test_past_the_wait_the_answer_is_202_grading_then_get_gives_the_verdict(
    app, client, build, people, item_id, database_url
):
    alice = people["alice"]
    response = post(client, alice, item_id, right_answer(build, alice, item_id))
    assert response.status_code == 202
    body = response.get_json()
    assert (body["status"], body["verdict"]) == ("grading", None)
    # every reader says what the POST said until the verdict is there
    seen = client.get(f"/api/v1/submissions/{body['id']}", headers=alice.headers).get_json()
    assert (seen["status"], seen["verdict"]) == ("grading", None)
    listed = client.get(f"/api/v1/submissions?item_id={item_id}", headers=alice.headers).get_json()
    assert [s["status"] for s in listed["submissions"]] == ["grading"]
    assert grading.begin(build.engine, body["id"], "a worker") is not None  # begun: still grading
    seen = client.get(f"/api/v1/submissions/{body['id']}", headers=alice.headers).get_json()
    assert seen["status"] == "grading"

    drain(database_url)
    graded = client.get(f"/api/v1/submissions/{body['id']}", headers=alice.headers).get_json()
    assert (graded["status"], graded["verdict"]["correct"]) == ("graded", True)


def test_a_derivation_part_past_the_wait_is_202_grading_as_any_submission(
    app, client, build, people, item_id, database_url
):
    alice, teacher = people["alice"], people["teacher"]
    assignment_id = build.get(Item, item_id).assignment_id
    created = client.post(f"/api/v1/assignments/{assignment_id}/derivations", headers=teacher.headers,
                          json={"preset": "softmax_layer", "n": 2, "K": 3})
    did = created.get_json()["id"]
    response = client.post(f"/api/v1/derivations/{did}/parts/a/submissions", headers=alice.headers,
                           json={"answer": "[0.2, 0.3, 0.5]", "format": "json"})
    assert (response.status_code, response.get_json()["status"]) == (202, "grading")
    view = client.get(f"/api/v1/derivations/{did}", headers=alice.headers).get_json()
    assert view["parts"][0]["latest"]["status"] == "grading"

    drain(database_url)
    view = client.get(f"/api/v1/derivations/{did}", headers=alice.headers).get_json()
    assert view["parts"][0]["latest"]["status"] == "graded"


def test_finishing_twice_stores_the_first_verdict_only(app, client, build, people, item_id):
    alice = people["alice"]
    submission_id = post(client, alice, item_id, "[[1]]").get_json()["id"]
    first = Verdict(correct=True, score=1.0, kind="softmax_jacobian")
    second = Verdict(correct=False, score=0.0, kind="softmax_jacobian")
    assert grading.finish(build.engine, submission_id, first, 1.0)
    assert not grading.finish(build.engine, submission_id, second, 1.0)
    assert build.get(Submission, submission_id).verdict["correct"] is True


def test_infrastructure_failures_are_retried_then_keep_the_attempt(
    app, client, build, people, item_id, database_url, monkeypatch
):
    alice, teacher = people["alice"], people["teacher"]
    real_grade = jobs.grade

    def sandbox_down(held):
        raise jobs.GraderUnavailable("the sandbox did not start")

    monkeypatch.setattr(jobs, "grade", sandbox_down)
    submission_id = post(client, alice, item_id, right_answer(build, alice, item_id)).get_json()["id"]
    drain(database_url, tries=3)

    with build.sessionmaker() as session:
        job = session.scalar(sa.select(GradingJob).where(GradingJob.submission_id == submission_id))
    assert (job.state, job.attempts) == ("failed", 3)  # three tries, then set aside
    seen = client.get(f"/api/v1/submissions/{submission_id}", headers=alice.headers).get_json()
    assert (seen["status"], seen["verdict"]) == ("failed", None)
    items = client.get(f"/api/v1/items/{item_id}", headers=alice.headers).get_json()
    assert items["attempts_used"] == 1  # the retries used none of the student's attempts

    assert client.get("/api/v1/queue", headers=teacher.headers).get_json()["failed"] == 1

    monkeypatch.setattr(jobs, "grade", real_grade)
    regraded = client.post(f"/api/v1/submissions/{submission_id}/regrade", headers=teacher.headers)
    assert regraded.status_code == 200
    drain(database_url)
    seen = client.get(f"/api/v1/submissions/{submission_id}", headers=alice.headers).get_json()
    assert (seen["status"], seen["verdict"]["correct"]) == ("graded", True)
    # graded now: the failed task of its first grading is history, not a failure to look at
    assert client.get("/api/v1/queue", headers=teacher.headers).get_json()["failed"] == 0


def test_the_page_shows_grading_and_asks_for_the_verdict_until_it_is_there(
    app, client, build, people, item_id, database_url
):
    from tests.test_pages import PASSWORD, log_in
    from tests.test_pages import post as post_form

    alice = build.user("carol", password=PASSWORD)
    build.enrol(people["course_id"], alice)
    log_in(client, "carol")
    page = post_form(client, f"/items/{item_id}/submit",
                     {"answer": right_answer(build, alice, item_id), "format": "json"},
                     f"/items/{item_id}")
    page = client.get(page.headers["Location"]).get_data(as_text=True)
    assert "grading…" in page and 'src="/static/grading.js"' in page
    url = re.search(r'data-grading="([^"]+)"', page).group(1)
    assert client.get(url).get_json()["status"] == "grading"  # what the script asks, with the cookie

    drain(database_url)
    page = client.get(f"/items/{item_id}").get_data(as_text=True)
    assert "data-grading" not in page and "correct, full marks" in page


def test_the_queue_status_shows_the_depth_and_the_oldest_waiting_task(client, build, people, item_id):
    alice = people["alice"]
    post(client, alice, item_id, right_answer(build, alice, item_id))
    assert client.get("/api/v1/queue", headers=alice.headers).status_code == 403
    status = client.get("/api/v1/queue", headers=people["teacher"].headers).get_json()
    assert status["queue"] == "procrastinate"
    assert (status["waiting"], status["running"], status["live_workers"]) == (1, 0, 0)
    assert status["oldest_waiting_since"] is not None


@pytest.mark.config(GRADING_QUEUE="procrastinate", SUBMIT_WAIT_SECONDS=3, SUBMIT_WAITERS=1)
def test_past_the_waiters_allowed_a_submission_answers_202_at_once(app, build, people, item_id):
    # no worker runs: a request that waits, waits its whole time
    alice = people["alice"]
    answer = right_answer(build, alice, item_id)
    answered: list[tuple[float, int]] = []

    def submit() -> None:
        response = post(app.test_client(), alice, item_id, answer)
        answered.append((time.monotonic(), response.status_code))

    both = [threading.Thread(target=submit) for _ in range(2)]
    for thread in both:
        thread.start()
    for thread in both:
        thread.join()
    (first, first_status), (second, second_status) = sorted(answered)
    assert (first_status, second_status) == (202, 202)
    assert second - first > 1.5  # one waited for its verdict, the other did not


def test_gradings_waiting_without_a_task_are_adopted_once(app, client, build, people, item_id, database_url):
    # as a deployment that graded in process leaves them when it switches to workers
    alice = people["alice"]
    waiting = [post(client, alice, item_id, right_answer(build, alice, item_id)).get_json()["id"]
               for _ in range(2)]
    with build.sessionmaker.begin() as session:
        session.execute(sa.text("DELETE FROM procrastinate_jobs"))
        session.execute(sa.update(GradingJob).where(GradingJob.submission_id == waiting[1])
                        .values(state="running", lease_owner="web-1:123:4"))  # a dead process's lease
    assert adopt_orphans(database_url) == 2
    assert adopt_orphans(database_url) == 0  # each has its task now
    with build.sessionmaker() as session:
        assert sorted(row["submission_id"] for row in session.execute(TASKS).scalars()) == sorted(waiting)

    drain(database_url)
    for submission_id in waiting:
        seen = client.get(f"/api/v1/submissions/{submission_id}", headers=alice.headers).get_json()
        assert (seen["status"], seen["verdict"]["correct"]) == ("graded", True)


@pytest.mark.config(GRADING_QUEUE="procrastinate", SUBMIT_WAIT_SECONDS=20)
def test_within_the_wait_the_answer_is_201_with_the_workers_verdict(app, client, build, people, item_id,
                                                                   database_url):
    alice = people["alice"]
    answer = right_answer(build, alice, item_id)

    def worker_once_stored() -> None:
        with build.sessionmaker() as session:
            while not session.execute(TASKS).all():
                session.rollback()
                time.sleep(0.05)
        drain(database_url)

    worker = threading.Thread(target=worker_once_stored)
    worker.start()
    response = post(client, alice, item_id, answer)
    worker.join(30)
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert (body["status"], body["verdict"]["correct"], body["score"]) == ("graded", True, 1.0)


def test_a_worker_tries_a_grading_at_least_twice():
    # procrastinate reads a limit of no retry as no limit: one try is refused, not retried for ever
    with pytest.raises(ValueError, match="at least twice"):
        worker.WorkerConfig("postgresql+psycopg://nowhere/none", concurrency=1, tries=1)
    assert worker.Grader(worker.WorkerConfig("postgresql+psycopg://nowhere/none", 1, tries=2),
                         sa.create_engine("sqlite://")).strategy.max_attempts == 1


def defer_backlog(app, build, count: int) -> None:
    """``count`` grading tasks waiting, as a deadline leaves them (of no stored submission)."""
    with build.sessionmaker.begin() as session:
        connection = session.connection().connection.driver_connection
        for n in range(count):
            defer_grading(grading_queue(app).app, connection, 10**6 + n)


def test_a_backlogs_statistics_are_taken_again_once_it_grew(app, build, database_url):
    engine = sa.create_engine(database_url, poolclass=sa.NullPool)
    try:
        with engine.begin() as connection:
            connection.execute(sa.text("ANALYZE procrastinate_jobs"))  # as a quiet queue's last were
            assert connection.scalar(COUNTED) <= 0
            assert not refresh_statistics(connection)  # nothing changed: no ANALYZE
        defer_backlog(app, build, 150)

        with engine.begin() as connection:
            assert refresh_statistics(connection)
            assert connection.scalar(COUNTED) == 150  # a fetch plans for the backlog it has
            assert not refresh_statistics(connection)
    finally:
        engine.dispose()


def test_the_queues_upkeep_goes_ahead_of_a_backlog(app, build, database_url, caplog):
    defer_backlog(app, build, 30)
    config = worker.WorkerConfig(database_url, concurrency=1)
    engine = sa.create_engine(database_url, poolclass=sa.NullPool)
    grader = worker.Grader(config, engine)
    tasks = worker.build_app(config, grader)
    try:
        with tasks.open():  # deferred after the backlog, as a periodic task is during one
            tasks.tasks["refresh_queue_statistics"].defer(timestamp=0)
        caplog.set_level(logging.INFO, logger="procrastinate")
        tasks.run_worker(queues=["grading"], wait=False, install_signal_handlers=False, listen_notify=False,
                         concurrency=1, additional_context={"grader": grader})
    finally:
        engine.dispose()
    lines = [record.getMessage() for record in caplog.records]
    started = [line for line in lines if line.startswith("Starting job")]
    assert len(started) >= 31 and "refresh_queue_statistics" in started[0], started[:3]


STALLED_AND_ENDED = sa.text("SELECT task_name, status::text FROM procrastinate_jobs ORDER BY id")


def test_a_lost_workers_gradings_run_again_and_its_upkeep_tasks_are_dropped(app, build, database_url):
    """A worker killed (or cut from its database) mid-task leaves its tasks ``doing``: a grading
    is run again; an upkeep task, which its next round runs anyway, does not stay for ever."""
    import asyncio

    from procrastinate import JobContext

    defer_backlog(app, build, 1)
    config = worker.WorkerConfig(database_url, concurrency=1, stalled_seconds=1)
    engine = sa.create_engine(database_url, poolclass=sa.NullPool)
    tasks = worker.build_app(config, worker.Grader(config, engine))

    async def lose_a_worker_then_look() -> None:
        async with tasks.open_async():
            manager = tasks.job_manager
            for name in ("refresh_queue_statistics", "retry_stalled_gradings"):
                await tasks.tasks[name].defer_async(timestamp=0)
            lost = await manager.register_worker()
            while await manager.fetch_job(queues=["grading"], worker_id=lost) is not None:
                pass  # all three taken, and never finished
            with engine.begin() as connection:  # its heartbeats stopped an hour ago
                connection.execute(sa.text("UPDATE procrastinate_workers "
                                           "SET last_heartbeat = now() - interval '1 hour'"))
            look = tasks.tasks["retry_stalled_gradings"]
            await look.func(JobContext(app=tasks, job=None, start_timestamp=0, abort_reason=lambda: None),
                            timestamp=0)

    try:
        asyncio.run(lose_a_worker_then_look())
        with engine.connect() as connection:
            assert connection.execute(STALLED_AND_ENDED).all() == [("grade_submission", "todo")]
    finally:
        engine.dispose()


WAITING_ON_A_LOCK = sa.text("SELECT count(*) FROM pg_stat_activity "
                            "WHERE datname = current_database() AND wait_event_type = 'Lock'")


@pytest.mark.parametrize("task_name", ["grade_submission", "refresh_queue_statistics"])
def test_two_workers_looking_at_once_take_a_lost_workers_task_once(app, build, database_url, caplog,
                                                                   task_name):
    """Two workers' checks find the same stalled task at the same moment: one runs it again (a
    grading) or drops it (an upkeep task), the other finds that done, and neither fails."""
    import asyncio

    from procrastinate import JobContext

    config = worker.WorkerConfig(database_url, concurrency=1, stalled_seconds=1)
    engine = sa.create_engine(database_url, poolclass=sa.NullPool)
    first, second = (worker.build_app(config, worker.Grader(config, engine)) for _ in range(2))
    if task_name == "grade_submission":
        defer_backlog(app, build, 1)
    caplog.set_level(logging.INFO, logger=worker.log.name)

    async def look(tasks) -> None:
        context = JobContext(app=tasks, job=None, start_timestamp=0, abort_reason=lambda: None)
        await tasks.tasks["retry_stalled_gradings"].func(context, timestamp=0)

    async def lose_a_worker_then_look_twice_at_once() -> None:
        async with first.open_async(), second.open_async():
            if task_name != "grade_submission":
                await first.tasks[task_name].defer_async(timestamp=0)
            lost = await first.job_manager.register_worker()
            taken = await first.job_manager.fetch_job(queues=["grading"], worker_id=lost)
            assert taken is not None and taken.task_name == task_name
            with engine.begin() as connection:  # its heartbeats stopped an hour ago
                connection.execute(sa.text("UPDATE procrastinate_workers "
                                           "SET last_heartbeat = now() - interval '1 hour'"))
            # the task's row held: both checks find it stalled, and both reach it before either
            # has changed it
            with engine.connect() as holder, engine.connect() as observer:
                holder.execute(sa.text("SELECT id FROM procrastinate_jobs WHERE id = :id FOR UPDATE"),
                               {"id": taken.id})
                both = asyncio.gather(look(first), look(second))
                for _ in range(200):
                    await asyncio.sleep(0.05)
                    if observer.scalar(WAITING_ON_A_LOCK) == 2:
                        break
                else:
                    raise AssertionError("the two checks never both reached the task")
                holder.commit()
                await both

    try:
        asyncio.run(lose_a_worker_then_look_twice_at_once())
        with engine.connect() as connection:
            left = connection.execute(sa.text(
                "SELECT task_name, status::text, attempts FROM procrastinate_jobs ORDER BY id")).all()
    finally:
        engine.dispose()
    if task_name == "grade_submission":
        assert left == [("grade_submission", "todo", 1)]  # run again once
    else:
        assert left == []  # dropped
    assert any("another worker" in record.getMessage() and record.levelno == logging.INFO
               for record in caplog.records)


def test_tasks_that_ended_long_ago_are_removed(app, build, database_url):
    defer_backlog(app, build, 3)
    engine = sa.create_engine(database_url, poolclass=sa.NullPool)
    config = worker.WorkerConfig(database_url, concurrency=1)
    tasks = worker.build_app(config, worker.Grader(config, engine))
    try:
        with engine.begin() as connection:
            ids = connection.scalars(sa.text("SELECT id FROM procrastinate_jobs ORDER BY id")).all()
            # the first failed a week and more ago, the second an hour ago; the third waits
            connection.execute(sa.text("UPDATE procrastinate_jobs SET status = 'failed' WHERE id <= :id"),
                               {"id": ids[1]})
            ago = [{"id": ids[0], "hours": worker.ENDED_KEPT_HOURS + 1}, {"id": ids[1], "hours": 1}]
            connection.execute(sa.text("UPDATE procrastinate_events SET at = now() - "
                                       "make_interval(hours => :hours) WHERE job_id = :id"), ago)
        with tasks.open():
            tasks.tasks["remove_old_tasks"].defer(timestamp=0)
        tasks.run_worker(queues=["grading"], wait=False, install_signal_handlers=False, listen_notify=False,
                         concurrency=1, delete_jobs="successful",
                         additional_context={"grader": worker.Grader(config, engine)})
        with engine.connect() as connection:
            left = connection.execute(sa.text("SELECT id, status::text FROM procrastinate_jobs ORDER BY id"))
            assert left.all() == [(ids[1], "failed")]  # the third was graded: a task of nothing stored
    finally:
        engine.dispose()
