"""The procrastinate queue on PostgreSQL: what ``grader worker`` processes grade per second.

A throwaway PostgreSQL server (Debian's, as the tests start it); a class of students
with one item each; submissions stored through the service's one path, 70% matrix
and 30% function answers. Figures:

- drain rate: the submissions stored first, then 1 or 2 workers (``--concurrency 2``
  each) started; graded per second from the first verdict to the last;
- queue cost: submissions one at a time to an idle worker, the time from the
  submission's commit to the worker starting its grading (p50);
- function answers through the queue (one worker) against the same sandbox pool
  called directly by as many threads.

    .venv/bin/python benchmarks/bench_queue.py [--submissions 300]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import sqlalchemy as sa
import sqlalchemy.orm as so

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import exercises
from grader.judge.grading import grade
from grader.sandbox import pool as sandbox_pool
from grader.service import accounts, db, submissions, variants
from grader.service.models import Assignment, Course, Enrolment, GradingJob, Item, Submission, User
from grader.service.remote.database import ensure_schema
from grader.service.remote.web import RemoteQueue
from tests.postgres import PostgresServer, binaries

FUNCTION_SOURCE = """
import numpy as np

def softmax_jacobian(z):
    s = np.exp(z - z.max())
    s = s / s.sum()
    return np.diag(s) - np.outer(s, s)
"""
FUNCTION_SHARE = 0.3
CONCURRENCY = 2


def course(sessionmaker: so.sessionmaker[so.Session], students: int) -> tuple[list[int], int]:
    with sessionmaker.begin() as session:
        teacher = accounts.create_user(session, "teacher", "instructor", None)
        course = Course(code="BENCH", title="Bench")
        assignment = Assignment(course=course, title="Deadline", seed=7)
        assignment.items = [Item(position=0, kind="softmax_jacobian", n=4)]
        session.add_all([course, assignment])
        session.flush()
        session.add(Enrolment(course_id=course.id, user_id=teacher.id, role="instructor"))
        ids = []
        for n in range(students):
            user = accounts.create_user(session, f"s{n}", "student", None)
            session.flush()
            session.add(Enrolment(course_id=course.id, user_id=user.id, role="student"))
            ids.append(user.id)
        return ids, assignment.items[0].id


def store(sessionmaker: so.sessionmaker[so.Session], queue: RemoteQueue, students: list[int],
          item_id: int, count: int, function_share: float = FUNCTION_SHARE) -> None:
    functions = round(1 / function_share) if function_share else 0
    for n in range(count):
        with sessionmaker() as session:
            user, item = session.get(User, students[n % len(students)]), session.get(Item, item_id)
            if functions and n % functions == functions - 1:
                answer, fmt = FUNCTION_SOURCE, "python"
            else:
                instance = variants.ensure(session, item, user.id).instance
                exercise, normal = exercises.validate(instance)
                answer, fmt = json.dumps(exercise.reference(normal).tolist()), "json"
                session.commit()
            submissions.submit(session, user, item, answer, fmt, queue=queue, per_minute=10**6)


def graded(sessionmaker: so.sessionmaker[so.Session]) -> list[Submission]:
    with sessionmaker() as session:
        return list(session.scalars(sa.select(Submission).join(GradingJob).where(GradingJob.state == "done")))


def start_workers(url: str, folder: Path, count: int) -> list[subprocess.Popen[bytes]]:
    env = {**os.environ, "GRADER_DATABASE_URL": url, "GRADER_QUEUE": "procrastinate",
           "GRADER_INSTANCE_PATH": str(folder)}
    workers = []
    for n in range(count):
        with open(folder / f"worker{n}.log", "wb") as log:
            workers.append(subprocess.Popen(
                [sys.executable, "-m", "grader.cli", "worker", "--concurrency", str(CONCURRENCY)],
                env=env, stdout=log, stderr=subprocess.STDOUT))
    return workers


def stop(workers: list[subprocess.Popen[bytes]]) -> None:
    for worker in workers:
        worker.send_signal(signal.SIGTERM)
    for worker in workers:
        worker.wait(60)


def wait_graded(
    sessionmaker: so.sessionmaker[so.Session], count: int, limit: float = 600
) -> list[Submission]:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        done = graded(sessionmaker)
        if len(done) >= count:
            return done
        time.sleep(0.2)
    raise RuntimeError(f"only {len(graded(sessionmaker))} of {count} graded")


def drain_rate(server: PostgresServer, folder: Path, workers: int, count: int,
               function_share: float = FUNCTION_SHARE) -> float:
    name = f"bench_{workers}_{int(function_share * 100)}"
    server.admin(f"CREATE DATABASE {name}")
    url = server.url(name)
    db.upgrade_database(url)
    ensure_schema(url)
    database = db.Database(url)
    try:
        queue = RemoteQueue(database.sessionmaker, url, wait_seconds=0)
        students, item_id = course(database.sessionmaker, 50)
        store(database.sessionmaker, queue, students, item_id, count, function_share)
        running = start_workers(url, folder, workers)
        try:
            done = wait_graded(database.sessionmaker, count)
        finally:
            stop(running)
    finally:
        database.dispose()
    times = sorted(s.graded_at for s in done)
    return (len(times) - 1) / (times[-1] - times[0]).total_seconds()


def queue_cost(server: PostgresServer, folder: Path, count: int = 60) -> float:
    """p50 in ms from a submission's commit to its worker starting to grade it."""
    server.admin("CREATE DATABASE bench_cost")
    url = server.url("bench_cost")
    db.upgrade_database(url)
    ensure_schema(url)
    database = db.Database(url)
    running = start_workers(url, folder, 1)
    try:
        queue = RemoteQueue(database.sessionmaker, url, wait_seconds=0)
        students, item_id = course(database.sessionmaker, 10)
        time.sleep(3)  # the worker up and listening
        for n in range(count):
            store(database.sessionmaker, queue, [students[n % 10]], item_id, 1, function_share=0)
            time.sleep(0.05)
        done = wait_graded(database.sessionmaker, count)
    finally:
        stop(running)
        database.dispose()
    # the grading ends at graded_at after grading_ms: it started that much earlier
    waits = [((s.graded_at - s.submitted_at).total_seconds() * 1000 - s.grading_ms) for s in done]
    return statistics.median(waits)


def direct_function_rate(count: int) -> float:
    """Function answers per second graded as a worker grades them, without the queue."""
    instance = {"kind": "softmax_jacobian", "z": [0.1, 0.2, 0.3, 0.4]}
    sandbox_pool.default_pool().warm()  # on slots apart from the workers' (see grader.sandbox.slots)
    left = iter(range(count))
    lock = threading.Lock()

    def run() -> None:
        while True:
            with lock:
                n = next(left, None)
            if n is None:
                return
            grade(instance, FUNCTION_SOURCE, "python", seed=n)

    try:
        started = time.perf_counter()
        threads = [threading.Thread(target=run) for _ in range(CONCURRENCY)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return count / (time.perf_counter() - started)
    finally:
        sandbox_pool.close_default_pool()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--submissions", type=int, default=300)
    args = parser.parse_args()
    bin_dir = binaries()
    if bin_dir is None:
        print("PostgreSQL is not installed: `make system-deps` installs it")
        return 1
    server = PostgresServer(bin_dir)
    server.start()
    folder = Path(tempfile.mkdtemp(prefix="grader-bench-queue-"))
    try:
        print(f"{args.submissions} submissions, {int(FUNCTION_SHARE * 100)}% function answers, "
              f"workers of --concurrency {CONCURRENCY}, {os.cpu_count()} cores")
        for workers in (1, 2):
            rate = drain_rate(server, folder, workers, args.submissions)
            print(f"  {workers} worker(s): {rate:7.1f} submissions graded/s", flush=True)
        print(f"  queue cost, commit to grading start, p50: {queue_cost(server, folder):.1f} ms", flush=True)
        queued = drain_rate(server, folder, 1, args.submissions // 2, function_share=1.0)
        direct = direct_function_rate(args.submissions // 2)
        print(f"  function answers: {queued:.1f}/s through the queue (1 worker), {direct:.1f}/s "
              f"on the same pool called directly ({queued / direct:.0%})")
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
