"""``grader worker`` processes on a real PostgreSQL server: they grade what the web stores,
and a worker killed in the middle of a task has it finished by another, graded once."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from grader.service import submissions
from grader.service.models import GradingJob, Item, Submission, User
from grader.service.queue import grading_queue
from grader.service.remote.database import QUEUE_NAME, TASK_NAME
from tests.conftest import alive, wait_for
from tests.test_remote_queue import ITEMS, defer_backlog, post, right_answer

pytestmark = [
    pytest.mark.slow,
    pytest.mark.config(GRADING_QUEUE="procrastinate", SUBMIT_WAIT_SECONDS=60),
]
# a function answer that takes a while in the sandbox: a worker is surely mid-task
SLOW_FUNCTION = """
import time
import numpy as np
time.sleep(0.6)

def softmax_jacobian(z):
    s = np.exp(z - z.max())
    s = s / s.sum()
    return np.diag(s) - np.outer(s, s)
"""
# begun on a worker: the job row says so once the task has started grading
RUNNING = sa.select(sa.func.count()).where(GradingJob.state == "running")


@pytest.fixture
def database_url(postgres_url: str) -> str:
    return postgres_url


class Workers:
    """``grader worker`` processes on the test's database, stopped at the end."""

    def __init__(self, url: str, folder: Path) -> None:
        self.env = {**os.environ, "GRADER_DATABASE_URL": url, "GRADER_QUEUE": "procrastinate",
                    "GRADER_INSTANCE_PATH": str(folder), "GRADER_WORKER_HEARTBEAT_SECONDS": "1",
                    "GRADER_WORKER_STALLED_SECONDS": "3", "GRADER_GRADING_RETRY_SECONDS": "0"}
        self.folder = folder
        self.processes: list[subprocess.Popen[bytes]] = []

    def start(self, concurrency: int = 1, *options: str) -> subprocess.Popen[bytes]:
        with open(self.folder / f"worker{len(self.processes)}.log", "wb") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "grader.cli", "worker", "--concurrency", str(concurrency),
                 *options],
                env=self.env, stdout=log, stderr=subprocess.STDOUT,
            )
        self.processes.append(process)
        return process

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(10)


@pytest.fixture
def workers(database_url: str, tmp_path: Path) -> Iterator[Workers]:
    workers = Workers(database_url, tmp_path)
    yield workers
    workers.stop()


@pytest.fixture
def item_id(build, people) -> int:
    return build.assignment(people["course_id"], ITEMS)[1][0]


def test_a_worker_grades_within_the_wait_201(app, client, build, people, item_id, workers):
    grading_queue(app).start()  # woken by the worker's NOTIFY
    workers.start()
    alice = people["alice"]
    response = post(client, alice, item_id, right_answer(build, alice, item_id))
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert (body["status"], body["verdict"]["correct"]) == ("graded", True)
    grading_queue(app).stop()


def ready(workers: Workers, n: int = 0) -> bool:
    """Whether worker ``n`` runs its loop: its periodic task is deferred once its stop signals
    are handled (its "Starting worker" comes just before)."""
    return b"deferred for timestamp" in (workers.folder / f"worker{n}.log").read_bytes()


def test_a_worker_takes_the_statistics_of_the_backlog_it_finds(app, build, workers):
    defer_backlog(app, build, 150)  # tasks of no stored submission: each is done at once
    workers.start()
    log = workers.folder / "worker0.log"
    assert wait_for(lambda: b"Starting job grade_submission" in log.read_bytes(), 30), log.read_text()
    text = log.read_text()
    # before its first fetch: that one, and every one after, plans for the backlog's size
    assert -1 < text.find("statistics are taken again") < text.find("Starting job grade_submission"), text


ANALYZED = sa.text("SELECT analyze_count FROM pg_stat_user_tables WHERE relname = 'procrastinate_jobs'")
COUNTED = sa.text("SELECT reltuples FROM pg_class WHERE oid = 'procrastinate_jobs'::regclass")
# the heart of procrastinate's fetch (procrastinate_fetch_job_v2, less its lock and FOR UPDATE):
# the first task to do, by priority then age
FETCH = ("SELECT id FROM procrastinate_jobs WHERE status = 'todo' AND queue_name = ANY(ARRAY['grading']) "
         "AND (scheduled_at IS NULL OR scheduled_at <= now()) ORDER BY priority DESC, id ASC LIMIT 1")


def test_a_running_worker_takes_the_statistics_of_a_deep_backlog_again(app, build, workers, database_url):
    """A deadline's backlog arrives while a worker runs: the worker's periodic upkeep, not
    autovacuum nor its start, takes the statistics again, and the fetch plans for the backlog."""
    backlog = 3000
    engine = sa.create_engine(database_url, poolclass=sa.NullPool)
    with engine.begin() as connection:
        connection.execute(sa.text("ANALYZE procrastinate_jobs"))  # as a quiet queue's last were
    workers.start(2)
    assert wait_for(lambda: ready(workers), 30)
    with engine.connect() as connection:
        analyzed = connection.scalar(ANALYZED)  # autovacuum's are counted apart
    # The backlog stays while the worker runs: its gradings share a procrastinate lock, so one at
    # a time is taken, and that one waits for this lock; the other task the worker may run at
    # once is the upkeep's.
    holder = engine.connect()
    holder.execute(sa.text("LOCK TABLE grading_jobs IN EXCLUSIVE MODE"))
    try:
        with build.sessionmaker.begin() as session:
            connection = session.connection().connection.driver_connection
            grading_queue(app).app.configure_task(
                TASK_NAME, queue=QUEUE_NAME, lock="one at a time", connection=connection
            ).batch_defer(*({"submission_id": 10**6 + n} for n in range(backlog)))
            # stale, as the quiet queue left them (asked before the commit: before the worker sees it)
            assert todo_estimate(session.connection()) < 0.1 * backlog

        def analyzed_again() -> bool:
            with engine.connect() as connection:
                return connection.scalar(ANALYZED) > analyzed

        assert wait_for(analyzed_again, 20), (workers.folder / "worker0.log").read_text()[-3000:]
        with engine.connect() as connection:
            assert backlog <= connection.scalar(COUNTED) <= backlog + 5  # and the upkeep's own
            plan = "\n".join(connection.exec_driver_sql(f"EXPLAIN {FETCH}").scalars())
            assert todo_estimate(connection) >= 0.9 * backlog
        # the first by the index's order, where stale statistics had it sort every task to do
        assert "Index Scan using procrastinate_jobs_priority_idx_v1" in plan, plan
        assert "statistics are taken again" in (workers.folder / "worker0.log").read_text()
    finally:
        holder.rollback()
        holder.close()
        engine.dispose()


def todo_estimate(connection: sa.Connection) -> float:
    """The planner's estimate of the tasks to do."""
    explained = connection.exec_driver_sql(
        "EXPLAIN (FORMAT JSON) SELECT id FROM procrastinate_jobs WHERE status = 'todo'"
    ).scalar_one()
    return explained[0]["Plan"]["Plan Rows"]


def test_a_worker_stops_on_sigterm(workers):
    worker = workers.start()
    assert wait_for(lambda: ready(workers), 30)
    worker.send_signal(signal.SIGTERM)
    assert worker.wait(30) == 0


def test_a_worker_killed_mid_task_has_its_task_finished_by_another_once(app, build, people, workers):
    count = 12
    item_id = build.assignment(people["course_id"], [{"kind": "softmax_jacobian", "n": 3}])[1][0]
    with build.sessionmaker() as session:
        queue = grading_queue(app)
        for n in range(count):
            student = people["alice"] if n % 2 else people["bob"]
            submissions.submit(session, session.get(User, student.id), session.get(Item, item_id),
                               SLOW_FUNCTION, "python", queue=queue, per_minute=100)
    first, _second = workers.start(), workers.start()

    def both_busy() -> bool:
        with build.sessionmaker() as session:
            return session.scalar(RUNNING) == 2

    assert wait_for(both_busy, 60), "the workers never took a task each"
    os.kill(first.pid, signal.SIGKILL)  # in the middle of its task
    assert wait_for(lambda: not alive(first.pid) or first.poll() is not None, 10)

    def all_graded() -> bool:
        with build.sessionmaker() as session:
            done = sa.select(sa.func.count()).where(GradingJob.state == "done")
            return session.scalar(done) == count

    def no_task_left() -> bool:  # procrastinate closes a task just after its verdict is stored
        with build.sessionmaker() as session:
            return session.scalar(sa.text("SELECT count(*) FROM procrastinate_jobs "
                                          "WHERE task_name = 'grade_submission'")) == 0

    assert wait_for(all_graded, 120), "not every submission was graded"
    with build.sessionmaker() as session:
        rows = session.execute(sa.select(Submission, GradingJob).join(GradingJob)).all()
    assert len(rows) == count  # no attempt of the students' added by the kill
    assert all(job.state == "done" for _, job in rows)
    # stored once: the verdict was written in the transaction that closed the job
    assert all(submission.graded_at == job.finished_at for submission, job in rows)
    assert all(submission.verdict["correct"] for submission, _ in rows)
    assert max(job.attempts for _, job in rows) == 2  # the killed one, begun again elsewhere
    assert wait_for(no_task_left, 30), "a task was left"  # a successful one is deleted


def held_slots(workers: Workers, n: int) -> range:
    """The sandbox slots worker ``n`` says it holds."""
    said = re.search(rb"sandbox slots (\d+) to (\d+)", (workers.folder / f"worker{n}.log").read_bytes())
    assert said is not None, f"worker {n} did not say its sandbox slots"
    return range(int(said[1]), int(said[2]) + 1)


def test_workers_on_one_host_hold_sandbox_slots_apart_unless_told_which(workers):
    workers.start(), workers.start()
    assert wait_for(lambda: ready(workers, 0) and ready(workers, 1), 30)
    first, second = held_slots(workers, 0), held_slots(workers, 1)
    assert set(first).isdisjoint(second)

    pinned = workers.start(1, "--sandbox-slots-from", str(first[0]))  # taken: refused at once
    assert pinned.wait(30) == 2
    said = (workers.folder / "worker2.log").read_text().strip()
    assert said.startswith("grader: sandbox slots") and "held by another process" in said


def test_queue_status_counts_the_live_workers(workers):
    workers.start()
    assert wait_for(lambda: ready(workers), 30)
    printed = subprocess.run([sys.executable, "-m", "grader.cli", "queue", "status"], env=workers.env,
                             capture_output=True, text=True, check=True).stdout
    assert "live workers 1" in printed and "waiting 0" in printed


def test_a_worker_without_the_queue_settings_says_what_it_needs(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("GRADER_")}
    done = subprocess.run([sys.executable, "-m", "grader.cli", "worker"], capture_output=True, text=True,
                          env={**env, "GRADER_INSTANCE_PATH": str(tmp_path)})
    assert done.returncode == 2
    assert "GRADER_QUEUE=procrastinate" in done.stderr
