"""The procrastinate queue on PostgreSQL: what ``grader worker`` processes grade per second.

A throwaway PostgreSQL server (Debian's, as the tests start it); a class of students
with one item each; submissions stored through the service's one path, 70% matrix
and 30% function answers. Figures:

- drain rate: the submissions stored first, then 1 or 2 workers (their default
  concurrency) started; graded per second from the first verdict to the last; and
  one worker draining a deadline's backlog (``--backlog``, 2,000 by default);
- queue cost: submissions one at a time to an idle worker, the time from the
  submission's commit to the worker starting the task (procrastinate's "Starting
  job" line in the worker's log, in ms), p50 and p95;
- function answers through the queue (one worker) against the same sandbox pool
  called directly by as many threads as it has daemons;
- procrastinate's own floor: a worker of the same concurrency and pool running tasks that do
  nothing, and the machine's CPU each costs; with the direct answer's CPU, the
  highest share of the direct throughput any worker of one task per answer can keep.
- the queue's own cost per function answer: one worker whose grading is instant
  (``instant_worker.py``), the CPU its process, PostgreSQL and the machine spend per answer;
- function answers again with PostgreSQL on a core of its own and the worker (or the
  direct pool) on the others, as with the database on a host of its own: what a
  worker keeps of its own cores, with the database's work off them.

    .venv/bin/python benchmarks/bench_queue.py [--submissions 300] [--rounds 3] [--backlog 2000]
    .venv/bin/python benchmarks/bench_queue.py --floor-only [--backlog 2000]
    .venv/bin/python benchmarks/bench_queue.py --overhead-only [--backlog 2000]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import procrastinate
import sqlalchemy as sa
import sqlalchemy.orm as so

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import floor_tasks
from live import cpu_ticks

import exercises
from grader.judge.grading import grade
from grader.sandbox import pool as sandbox_pool
from grader.service import accounts, db, submissions, variants
from grader.service.models import Assignment, Course, Enrolment, GradingJob, Item, Submission, User
from grader.service.remote.database import conninfo, ensure_schema, refresh_statistics
from grader.service.remote.web import RemoteQueue
from grader.service.remote.worker import default_concurrency, task_pool
from tests.postgres import PostgresServer, binaries

FUNCTION_SOURCE = """
import numpy as np

def softmax_jacobian(z):
    s = np.exp(z - z.max())
    s = s / s.sum()
    return np.diag(s) - np.outer(s, s)
"""
FUNCTION_SHARE = 0.3
INSTANT_WORKER = Path(__file__).with_name("instant_worker.py")  # its grading replaced (queue_overhead)
# procrastinate's line when a worker starts a task (the CLI's log format: local time, ms)
STARTED = re.compile(r"^(\S+ \S+) .*Starting job grade_submission\[\d+\]\(submission_id=(\d+)\)")


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
          item_id: int, count: int, function_share: float = FUNCTION_SHARE) -> dict[int, float]:
    """Store ``count`` submissions; when each one's transaction had committed (time.time())."""
    committed = {}
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
            stored = submissions.submit(session, user, item, answer, fmt, queue=queue, per_minute=10**6)
            committed[stored.id] = time.time()
    return committed


def graded(sessionmaker: so.sessionmaker[so.Session]) -> list[Submission]:
    with sessionmaker() as session:
        return list(session.scalars(sa.select(Submission).join(GradingJob).where(GradingJob.state == "done")))


def graded_count(sessionmaker: so.sessionmaker[so.Session]) -> int:
    """How many are graded: what the benchmark polls, at a cost the workers barely feel."""
    with sessionmaker() as session:
        done = sa.select(sa.func.count()).select_from(GradingJob).where(GradingJob.state == "done")
        return session.scalar(done) or 0


def start_workers(url: str, folder: Path, count: int, tag: str = "", cores: set[int] | None = None,
                  command: tuple[str, ...] = ("-m", "grader.cli", "worker")) -> list[subprocess.Popen[bytes]]:
    """``count`` workers, on ``cores`` only when given (as ``taskset`` would start them)."""
    env = {**os.environ, "GRADER_DATABASE_URL": url, "GRADER_QUEUE": "procrastinate",
           "GRADER_INSTANCE_PATH": str(folder)}
    workers = []
    for n in range(count):
        with open(folder / f"worker{tag}{n}.log", "wb") as log:
            workers.append(subprocess.Popen(
                [sys.executable, *command],
                env=env, stdout=log, stderr=subprocess.STDOUT,
                preexec_fn=None if cores is None else lambda: os.sched_setaffinity(0, cores)))
    return workers


@contextlib.contextmanager
def on_cores(cores: set[int] | None) -> Iterator[None]:
    """This thread, and the threads and processes it starts meanwhile, on ``cores`` only."""
    if cores is None:
        yield
        return
    before = os.sched_getaffinity(0)
    os.sched_setaffinity(0, cores)
    try:
        yield
    finally:
        os.sched_setaffinity(0, before)


def stop(workers: list[subprocess.Popen[bytes]]) -> None:
    for worker in workers:
        worker.send_signal(signal.SIGTERM)
    for worker in workers:
        worker.wait(60)


def machine_busy() -> float:
    """CPU seconds the whole machine has spent busy (all cores, all processes) since boot."""
    ticks = cpu_ticks()
    return (sum(ticks) - ticks[3] - ticks[4]) / os.sysconf("SC_CLK_TCK")  # less idle and iowait


@dataclass(frozen=True)
class Drain:
    per_second: float  # graded, from the first verdict to the last
    cpu_ms: float  # the machine's busy CPU per graded submission, between 10% and 90% graded


def wait_graded(
    sessionmaker: so.sessionmaker[so.Session], count: int, limit: float = 600
) -> tuple[list[Submission], list[tuple[int, float]]]:
    """The graded submissions, once ``count`` are; and (graded, machine_busy()) every 0.2 s."""
    deadline = time.monotonic() + limit
    samples = []
    while time.monotonic() < deadline:
        busy = machine_busy()
        done = graded_count(sessionmaker)
        samples.append((done, busy))
        if done >= count:
            return graded(sessionmaker), samples
        time.sleep(0.2)
    raise RuntimeError(f"only {len(graded(sessionmaker))} of {count} graded")


def cpu_per_submission(samples: list[tuple[int, float]], count: int) -> float:
    """ms of busy CPU per submission graded, in the middle of the run (10% to 90%)."""
    first = next(s for s in samples if s[0] >= count // 10)
    last = next(s for s in samples if s[0] >= count * 9 // 10)
    return (last[1] - first[1]) * 1000 / max(1, last[0] - first[0])


def fresh_database(server: PostgresServer, name: str) -> tuple[str, db.Database]:
    """A new database ``name`` on ``server``, migrated and with procrastinate's schema: its URL
    and the service's handle on it."""
    server.admin(f"CREATE DATABASE {name}")
    url = server.url(name)
    db.upgrade_database(url)
    ensure_schema(url)
    return url, db.Database(url)


def drain_rate(server: PostgresServer, folder: Path, workers: int, count: int,
               function_share: float = FUNCTION_SHARE, tag: str = "",
               cores: set[int] | None = None) -> Drain:
    url, database = fresh_database(server, f"bench_{workers}_{int(function_share * 100)}{tag}")
    try:
        queue = RemoteQueue(database.sessionmaker, url, wait_seconds=0)
        students, item_id = course(database.sessionmaker, 50)
        store(database.sessionmaker, queue, students, item_id, count, function_share)
        running = start_workers(url, folder, workers, cores=cores)
        try:
            done, samples = wait_graded(database.sessionmaker, count)
        finally:
            stop(running)
    finally:
        database.dispose()
    times = sorted(s.graded_at for s in done)
    return Drain((len(times) - 1) / (times[-1] - times[0]).total_seconds(),
                 cpu_per_submission(samples, count))


def queue_cost(server: PostgresServer, folder: Path, count: int = 60) -> list[float]:
    """ms from each submission's commit to its worker starting the task, one at a time."""
    url, database = fresh_database(server, "bench_cost")
    running = start_workers(url, folder, 1, tag="cost")
    committed: dict[int, float] = {}
    try:
        queue = RemoteQueue(database.sessionmaker, url, wait_seconds=0)
        students, item_id = course(database.sessionmaker, 10)
        time.sleep(3)  # the worker up and listening
        for n in range(count):
            committed |= store(database.sessionmaker, queue, [students[n % 10]], item_id, 1, function_share=0)
            time.sleep(0.05)
        wait_graded(database.sessionmaker, count)
    finally:
        stop(running)
        database.dispose()
    started = {}
    for line in (folder / "workercost0.log").read_text().splitlines():
        found = STARTED.match(line)
        if found:
            started[int(found[2])] = datetime.strptime(found[1], "%Y-%m-%d %H:%M:%S,%f").timestamp()
    return sorted((started[n] - committed[n]) * 1000 for n in committed)


def direct_function_rate(count: int, cores: set[int] | None = None) -> Drain:
    """Function answers per second graded as a worker grades them, without the queue."""
    with on_cores(cores):  # the pool's daemons and the threads below inherit the cores
        return _direct_function_rate(count)


def _direct_function_rate(count: int) -> Drain:
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
        started, busy = time.perf_counter(), machine_busy()
        threads = [threading.Thread(target=run) for _ in range(sandbox_pool.default_size())]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return Drain(count / (time.perf_counter() - started), (machine_busy() - busy) * 1000 / count)
    finally:
        sandbox_pool.close_default_pool()


def procrastinate_floor(server: PostgresServer, count: int) -> Drain:
    """A procrastinate worker of a grading worker's concurrency, on tasks that do nothing."""
    server.admin("CREATE DATABASE bench_floor")
    url = server.url("bench_floor")
    ensure_schema(url)
    connector = procrastinate.PsycopgConnector(conninfo=conninfo(url))
    with floor_tasks.app.replace_connector(connector) as app:
        with app.open():
            for first in range(0, count, 500):
                floor_tasks.nothing.batch_defer(*({"n": n} for n in range(first, min(count, first + 500))))
        engine = sa.create_engine(url, poolclass=sa.NullPool)
        with engine.begin() as connection:
            refresh_statistics(connection)  # as a grading worker does at its start
        engine.dispose()
        started, busy = time.perf_counter(), machine_busy()
        asyncio.run(_floor_worker(app, url))
    return Drain(count / (time.perf_counter() - started), (machine_busy() - busy) * 1000 / count)


async def _floor_worker(app: procrastinate.App, url: str) -> None:
    """Run the floor's tasks on the grading worker's own pool (``task_pool``), as it runs them."""
    pool = task_pool(url, default_concurrency())
    async with pool, app.open_async(pool=pool):
        await app.run_worker_async(queues=["floor"], concurrency=default_concurrency(), wait=False,
                                   delete_jobs="successful", install_signal_handlers=False)


def process_cpu(pid: int) -> float:
    """CPU seconds process ``pid`` has spent, all its threads."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime


def server_cpu(server: PostgresServer) -> float:
    """CPU seconds the server's live processes have spent: the postmaster and its backends."""
    postmaster = int((server.data / "postmaster.pid").read_text().split()[0])
    total = 0.0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        with contextlib.suppress(OSError, IndexError, ValueError):
            with open(f"/proc/{entry}/stat") as stat:
                parent = int(stat.read().rsplit(")", 1)[1].split()[1])
            if int(entry) == postmaster or parent == postmaster:
                total += process_cpu(int(entry))
    return total


@dataclass(frozen=True)
class Overhead:
    per_second: float
    worker_ms: float  # the worker's process, per answer
    database_ms: float  # PostgreSQL's processes
    machine_ms: float  # the whole machine's busy CPU


def queue_overhead(server: PostgresServer, folder: Path, count: int) -> Overhead:
    """One worker whose grading is instant (``instant_worker.py``) on ``count`` function answers:
    the CPU per answer, between 10% and 90% graded, that the queue and the worker's own steps
    take, which a direct call of the pool does not."""
    url, database = fresh_database(server, "bench_overhead")
    try:
        queue = RemoteQueue(database.sessionmaker, url, wait_seconds=0)
        students, item_id = course(database.sessionmaker, 50)
        store(database.sessionmaker, queue, students, item_id, count, function_share=1.0)
        worker = start_workers(url, folder, 1, tag="instant", command=(str(INSTANT_WORKER),))[0]
        try:
            marks = []
            for share in (0.1, 0.9):
                while graded_count(database.sessionmaker) < count * share:
                    time.sleep(0.05)
                marks.append((graded_count(database.sessionmaker), time.perf_counter(),
                              process_cpu(worker.pid), server_cpu(server), machine_busy()))
        finally:
            stop([worker])
    finally:
        database.dispose()
    (n0, t0, *before), (n1, t1, *after) = marks
    worker_ms, database_ms, machine_ms = (
        (b - a) * 1000 / (n1 - n0) for a, b in zip(before, after, strict=True)
    )
    return Overhead((n1 - n0) / (t1 - t0), worker_ms, database_ms, machine_ms)


def said(overhead: Overhead) -> str:
    return (f"the queue's own cost per function answer, graded instantly by one worker "
            f"({overhead.per_second:.0f}/s): the worker {overhead.worker_ms:.2f} ms of CPU, "
            f"PostgreSQL {overhead.database_ms:.2f} ms, the machine {overhead.machine_ms:.2f} ms")


def compare_functions(server: PostgresServer, folder: Path, count: int, rounds: int,
                      worker_cores: set[int] | None = None,
                      database_cores: set[int] | None = None) -> tuple[list[Drain], list[Drain]]:
    """One worker's function answers through the queue against the same pool called directly,
    on ``worker_cores`` when given; the two taken in turns, so that a slower minute of a
    shared host weighs on both. Prints the medians and each round's ratio."""
    queued, direct = [], []
    for round_ in range(rounds):
        with on_cores(database_cores):  # this process only polls, beside the server
            queued.append(drain_rate(server, folder, 1, count, function_share=1.0,
                                     tag=f"_{round_}", cores=worker_cores))
        direct.append(direct_function_rate(count, worker_cores))
    rates = [q.per_second / d.per_second for q, d in zip(queued, direct, strict=True)]
    queued_rate = statistics.median(q.per_second for q in queued)
    direct_rate = statistics.median(d.per_second for d in direct)
    print(f"    medians of {rounds} rounds taken in turns: {queued_rate:.1f}/s through the queue "
          f"(1 worker), {direct_rate:.1f}/s on the same pool called directly "
          f"({queued_rate / direct_rate:.0%}; target >= 80%); per round "
          f"{', '.join(f'{r:.0%}' for r in rates)}", flush=True)
    return queued, direct


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--submissions", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3, help="of the function answers' comparison")
    parser.add_argument("--backlog", type=int, default=2000, help="submissions waiting at a deadline")
    parser.add_argument("--floor-only", action="store_true",
                        help="procrastinate's own floor alone, on --backlog tasks (seconds, not minutes)")
    parser.add_argument("--overhead-only", action="store_true",
                        help="the queue's own cost per function answer alone, on --backlog answers")
    args = parser.parse_args()
    bin_dir = binaries()
    if bin_dir is None:
        print("PostgreSQL is not installed: `make system-deps` installs it")
        return 1
    server = PostgresServer(bin_dir)
    server.start()
    try:
        if args.overhead_only:
            overhead = queue_overhead(server, Path(tempfile.mkdtemp(prefix="grader-bench-queue-")),
                                      args.backlog)
            print(said(overhead))
            return 0
        if args.floor_only:
            floor = procrastinate_floor(server, args.backlog)
            print(f"procrastinate alone, {args.backlog} tasks that do nothing: {floor.per_second:.0f}/s, "
                  f"{floor.cpu_ms:.2f} ms of the machine's CPU each")
            return 0
        folder = Path(tempfile.mkdtemp(prefix="grader-bench-queue-"))
        print(f"{args.submissions} submissions, {int(FUNCTION_SHARE * 100)}% function answers, "
              f"workers of their default concurrency, {os.cpu_count()} cores")
        for workers in (1, 2):
            drained = drain_rate(server, folder, workers, args.submissions)
            print(f"  {workers} worker(s): {drained.per_second:7.1f} submissions graded/s "
                  f"({drained.cpu_ms:.1f} ms of the machine's CPU each)", flush=True)
        drained = drain_rate(server, folder, 1, args.backlog, tag="_backlog")
        print(f"  a backlog of {args.backlog}, 1 worker: {drained.per_second:7.1f} submissions graded/s "
              f"({drained.cpu_ms:.1f} ms of the machine's CPU each)", flush=True)
        waits = queue_cost(server, folder)
        cuts = statistics.quantiles(waits, n=20)
        print(f"  queue cost, commit to the worker starting the task: p50 {statistics.median(waits):.1f} ms, "
              f"p95 {cuts[18]:.1f} ms (log times to the ms; target p50 <= 5 ms)", flush=True)
        print("  function answers, all on the same cores:")
        queued, direct = compare_functions(server, folder, args.submissions, args.rounds)
        # where the cores are the limit, the ratio is that of the CPU each answer costs
        queued_ms = statistics.median(q.cpu_ms for q in queued)
        direct_ms = statistics.median(d.cpu_ms for d in direct)
        print(f"    the machine's CPU per function answer: {queued_ms:.1f} ms through the queue "
              f"(worker, PostgreSQL, sandbox), {direct_ms:.1f} ms directly ({direct_ms / queued_ms:.0%})")
        floor = procrastinate_floor(server, args.backlog)
        print(f"  procrastinate alone, {args.backlog} tasks that do nothing: {floor.per_second:.0f}/s, "
              f"{floor.cpu_ms:.2f} ms of the machine's CPU each; with {direct_ms:.1f} ms an answer "
              f"directly, one task per answer keeps at most "
              f"{direct_ms / (direct_ms + floor.cpu_ms):.0%} of the direct throughput", flush=True)
        overhead = queue_overhead(server, folder, args.backlog)
        print(f"  {said(overhead)}; keeping 80% of {direct_ms:.1f} ms an answer directly allows "
              f"{direct_ms / 4:.1f} ms", flush=True)
        cores = sorted(os.sched_getaffinity(0))
        if len(cores) >= 2:
            database_core, worker_cores = {cores[-1]}, set(cores[:-1])
            print(f"  function answers, PostgreSQL on core {cores[-1]} (as on a host of its own), the "
                  f"worker and the direct pool on the other{'s' if len(worker_cores) > 1 else ''}:")
            apart = PostgresServer(bin_dir)
            with on_cores(database_core):  # the server's processes inherit it
                apart.start()
            try:
                compare_functions(apart, folder, args.submissions, args.rounds, worker_cores, database_core)
            finally:
                apart.stop()
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
