"""``grader worker``: a procrastinate worker that grades submissions with its own sandbox pool.

Any machine that reaches the database may run one or several. procrastinate fetches
the tasks, runs up to ``concurrency`` at once (sync tasks in threads), retries a
failed one with backoff, and stops on SIGTERM after the tasks it holds. Workers send
heartbeats; a worker that stops sending them (killed, its machine lost) has its
gradings retried by the others (procrastinate's "retry stalled jobs" recipe), and its
upkeep tasks dropped; procrastinate's builtin ``remove_old_jobs`` clears the tasks
that ended long ago.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import procrastinate
import procrastinate.builtin_tasks
import psycopg
import psycopg_pool
import sqlalchemy as sa
import sqlalchemy.orm as so
from procrastinate.jobs import Job, Status
from procrastinate.manager import JobManager

from exercises import InstanceError
from grader.sandbox import pool as sandbox_pool
from grader.service import db, jobs, settings
from grader.service.remote import grading
from grader.service.remote.database import (
    QUEUE_NAME,
    TASK_NAME,
    adopt_orphans,
    conninfo,
    ensure_schema,
    refresh_statistics,
)

log = logging.getLogger(__name__)
T = TypeVar("T")

STALLED_CHECK_CRON = "* * * * * */5"  # every five seconds (the sixth field is seconds)
STATISTICS_CRON = STALLED_CHECK_CRON  # a backlog's statistics: see database.refresh_statistics
OLD_JOBS_CRON = "41 * * * *"  # hourly
# tasks that failed (or were aborted) stay, for an operator's look, this long: the grading
# job row keeps what a failure says, the task's row only when it ended
ENDED_KEPT_HOURS = 7 * 24
# procrastinate fetches by priority, then in order: the queue's own upkeep goes ahead of a
# backlog of gradings, else it would wait for the backlog it is there to look after
UPKEEP_PRIORITY = 10
SHUTDOWN_SECONDS = 30.0  # on SIGTERM, how long a task may run on before it is given back
# procrastinate stops its worker when the database goes away (a restart, a failover): this
# process starts it again, with a growing delay, keeping its sandbox and its slots
RECONNECT_FIRST_SECONDS = 1.0
RECONNECT_MAX_SECONDS = 30.0
DATABASE_LOST = (procrastinate.exceptions.ConnectorException, psycopg.Error, psycopg_pool.PoolTimeout,
                 sa.exc.OperationalError)


@dataclass(frozen=True)
class WorkerConfig:
    database_url: str
    concurrency: int
    tries: int = 5
    retry_seconds: int = 2
    heartbeat_seconds: float = 10.0
    stalled_seconds: float = 30.0

    def __post_init__(self) -> None:
        # procrastinate reads a limit of no retry (max_attempts 0) as no limit at all
        if self.tries < 2:
            raise ValueError(f"a grading is tried at least twice, not {self.tries} time(s)")

    @classmethod
    def from_settings(cls, concurrency: int, config: settings.Settings | None = None) -> WorkerConfig:
        config = config or settings.Settings()
        return cls(settings.database_url(config), concurrency, config.grading_tries,
                   config.grading_retry_seconds, config.worker_heartbeat_seconds,
                   config.worker_stalled_seconds)


class Grader:
    """What a worker's tasks share: the database, the worker's name, the retry strategy."""

    def __init__(self, config: WorkerConfig, engine: sa.Engine) -> None:
        self.engine = engine
        self.sessionmaker = so.sessionmaker(engine, expire_on_commit=False)
        self.name = f"{socket.gethostname()[:40]}:{os.getpid()}"
        self.strategy = procrastinate.RetryStrategy(
            max_attempts=config.tries - 1, exponential_wait=config.retry_seconds
        )

    def grade(self, submission_id: int, job: Job) -> None:
        """Grade one submission and store its verdict, once; raise to have the task retried."""
        held = self.run_step(grading.begin, submission_id, self.name)
        if held is None:
            return  # graded already: a retry of a task that had finished its work
        started = time.perf_counter()
        try:
            verdict = jobs.judge(held, self.sessionmaker)
        except InstanceError as error:  # the answer's instance is unusable: no retry helps
            self.run_step(grading.set_aside, submission_id, error, True)
            return
        except Exception as error:  # the sandbox or the machine: the answer is not at fault
            last_try = self.strategy.get_retry_decision(exception=error, job=job) is None
            log.warning("grading submission %s failed (%s)%s", submission_id, error,
                        ", for good" if last_try else "; it is tried again")
            self.run_step(grading.set_aside, submission_id, error, last_try)
            raise
        elapsed = (time.perf_counter() - started) * 1000
        self.run_step(grading.finish, submission_id, verdict, elapsed)

    def run_step(self, step: Callable[..., T], *args: Any) -> T:
        """A step of :mod:`grading`, run again once on a fresh connection where the database
        had closed the one it took (after a restart of the server, say): each step is one
        statement, and safe to run twice, so the task keeps its try."""
        try:
            return step(self.engine, *args)
        except sa.exc.DBAPIError as error:
            if not error.connection_invalidated:
                raise
            log.warning("a connection of before the database's restart: the step is run again")
            return step(self.engine, *args)  # SQLAlchemy has dropped the pool's older connections


def build_app(config: WorkerConfig, grader: Grader) -> procrastinate.App:
    """The worker's procrastinate app: the grading task and the queue's periodic upkeep (stalled
    tasks, statistics, old tasks)."""
    app = procrastinate.App(connector=procrastinate.PsycopgConnector(conninfo=conninfo(config.database_url)))

    @app.task(name=TASK_NAME, queue=QUEUE_NAME, pass_context=True, retry=grader.strategy)
    def grade_submission(context: procrastinate.JobContext, submission_id: int) -> None:
        context.additional_context["grader"].grade(submission_id, context.job)

    @app.periodic(cron=STALLED_CHECK_CRON)
    @app.task(name="retry_stalled_gradings", queue=QUEUE_NAME, queueing_lock="retry_stalled_gradings",
              pass_context=True, priority=UPKEEP_PRIORITY)
    async def retry_stalled_gradings(context: procrastinate.JobContext, timestamp: int) -> None:
        manager = context.app.job_manager
        try:
            stalled = await manager.get_stalled_jobs(
                queue=QUEUE_NAME, seconds_since_heartbeat=config.stalled_seconds
            )
            for job in stalled:
                try:
                    if job.task_name == TASK_NAME:
                        await manager.retry_job(job)
                        log.warning("task %s of a lost worker is run again", job.id)
                    else:  # the queue's upkeep: its next round runs in a few seconds anyway
                        await manager.finish_job(job, Status.FAILED, delete_job=True)
                        log.warning("upkeep task %s (%s) of a lost worker is dropped", job.id, job.task_name)
                except procrastinate.exceptions.ConnectorException as error:
                    # procrastinate refuses to retry or finish a task that is no longer running:
                    # another worker's check, at the same moment, took care of it first
                    if database_lost(error) or not await _moved_on(manager, job):
                        raise
                    log.info("task %s of a lost worker was taken care of by another worker", job.id)
        except Exception as error:
            _upkeep_skipped_if_lost("the retry of a lost worker's tasks", error)

    @app.periodic(cron=STATISTICS_CRON)
    @app.task(name="refresh_queue_statistics", queue=QUEUE_NAME, queueing_lock="refresh_queue_statistics",
              priority=UPKEEP_PRIORITY)
    def refresh_queue_statistics(timestamp: int) -> None:
        try:
            grader.run_step(_refresh_statistics)  # a connection of before a restart: a fresh one
        except Exception as error:
            _upkeep_skipped_if_lost("the look at the queue's statistics", error)

    @app.periodic(cron=OLD_JOBS_CRON)
    @app.task(name="remove_old_tasks", queue=QUEUE_NAME, queueing_lock="remove_old_tasks",
              pass_context=True, priority=UPKEEP_PRIORITY)
    async def remove_old_tasks(context: procrastinate.JobContext, timestamp: int) -> None:
        # procrastinate's documented recipe (its builtin task is on a queue of its own, which
        # no grader worker takes); successful tasks are deleted as they end (run's delete_jobs)
        try:
            await procrastinate.builtin_tasks.remove_old_jobs(
                context, max_hours=ENDED_KEPT_HOURS, queue=QUEUE_NAME,
                remove_failed=True, remove_cancelled=True, remove_aborted=True,
            )
        except Exception as error:
            _upkeep_skipped_if_lost("the removal of old tasks", error)

    return app


async def _moved_on(manager: JobManager, job: Job) -> bool:
    """Whether stalled ``job`` is no longer the one its lost worker was running: gone, waiting
    again, ended, or taken by another worker."""
    now = list(await manager.list_jobs_async(id=job.id))
    return not now or now[0].status != Status.DOING.value or now[0].worker_id != job.worker_id


def _upkeep_skipped_if_lost(what: str, error: Exception) -> None:
    """The queue's upkeep runs every few seconds: a round that the database's going away cut
    short is skipped (the worker's loop stops and starts again on its own), not a failed
    task; any other error is raised."""
    if not database_lost(error):
        raise error
    log.warning("%s is skipped this round: the database was lost (%s)", what, _first_line(error))


def database_lost(error: BaseException) -> bool:
    """Whether ``error`` says the server went away or cannot be reached (a restart, a failover),
    as procrastinate or SQLAlchemy wrap it, rather than a fault of the statement."""
    if isinstance(error, procrastinate.exceptions.ConnectorException):
        error = error.__cause__ or error
    if isinstance(error, sa.exc.DBAPIError):
        error = error.orig or error
    return isinstance(error, (psycopg.OperationalError, psycopg_pool.PoolTimeout))


def _refresh_statistics(engine: sa.Engine) -> None:
    with engine.begin() as connection:
        if refresh_statistics(connection):
            log.info("the queue's statistics are taken again: its fetches plan for its size")


def run(config: WorkerConfig, sandbox_slots_from: int | None = None, wait: bool = True) -> None:
    """Run a worker until SIGTERM or SIGINT (or, without ``wait``, until the queue is empty);
    when the database goes away, start again once it answers.

    Its sandbox runs on a free block of the host's slots, or on those from
    ``sandbox_slots_from``; raises ``SlotsTaken`` at once when they are not free.
    """
    if sandbox_slots_from is not None:
        sandbox_pool.use_slots_from(sandbox_slots_from)
    slots = sandbox_pool.default_pool().slots  # held from now on; the daemons start later
    log.info("sandbox slots %d to %d of this host", slots[0], slots[-1])
    engine: sa.Engine | None = None
    try:
        ensure_schema(config.database_url)
        adopted = adopt_orphans(config.database_url)
        if adopted:
            log.warning("%d submission(s) waiting without a task are queued", adopted)
        # each step is one statement (remote.grading): autocommit, no BEGIN and COMMIT to wait for
        engine = db.make_engine(config.database_url, pool_size=config.concurrency + 1,
                                isolation_level="AUTOCOMMIT")
        grader = Grader(config, engine)
        _refresh_statistics(engine)  # a worker may start into a backlog
        threading.Thread(target=_warm_sandbox, name="sandbox-warm", daemon=True).start()
        delay = RECONNECT_FIRST_SECONDS
        while True:
            started = time.monotonic()
            try:
                asyncio.run(_work(  # a new app and pool each time: procrastinate keeps a pool it was given
                    build_app(config, grader),
                    task_pool(config.database_url, config.concurrency),
                    queues=[QUEUE_NAME],
                    concurrency=config.concurrency,
                    name=grader.name,
                    wait=wait,
                    delete_jobs="successful",
                    update_heartbeat_interval=config.heartbeat_seconds,
                    stalled_worker_timeout=config.stalled_seconds,
                    shutdown_graceful_timeout=SHUTDOWN_SECONDS,
                    additional_context={"grader": grader},
                ))
                return  # stopped by SIGTERM or SIGINT, or (without ``wait``) the queue empty
            except (*DATABASE_LOST, WorkerStopped) as error:
                if not wait:
                    raise
                if time.monotonic() - started > RECONNECT_MAX_SECONDS:
                    delay = RECONNECT_FIRST_SECONDS  # it had been working: a new outage
                engine.dispose()  # its connections ended with the server's: fresh ones, not a failed try
                why = "the worker stopped" if isinstance(error, WorkerStopped) else "the database was lost"
                log.warning("%s (%s): the worker starts again in %.0f s; its tasks under way go to "
                            "the next worker once its heartbeats stop", why, _first_line(error), delay)
                try:
                    time.sleep(delay)
                except KeyboardInterrupt:
                    return
                delay = min(2 * delay, RECONNECT_MAX_SECONDS)
    finally:
        sandbox_pool.close_default_pool()
        if engine is not None:
            engine.dispose()


def task_pool(database_url: str, concurrency: int) -> psycopg_pool.AsyncConnectionPool:
    """The connections procrastinate fetches and closes tasks on: one round trip per query.

    Each of procrastinate's queries is one call of its SQL functions. Its own pool lends
    a connection after a ping and runs each query in a transaction of its own: a ping,
    BEGIN, the call and COMMIT. Here the connections are in autocommit, and a connection
    is pinged only after it sat idle, when the server may have closed it, by the rule of
    the service's SQLAlchemy engines (:func:`grader.service.db.sat_idle`).
    """
    returned: weakref.WeakKeyDictionary[psycopg.AsyncConnection[Any], float] = weakref.WeakKeyDictionary()

    async def configure(connection: psycopg.AsyncConnection[Any]) -> None:
        await connection.set_autocommit(True)

    async def reset(connection: psycopg.AsyncConnection[Any]) -> None:
        returned[connection] = time.monotonic()

    async def check(connection: psycopg.AsyncConnection[Any]) -> None:
        if db.sat_idle(returned.get(connection)):
            await psycopg_pool.AsyncConnectionPool.check_connection(connection)

    # the worker's loop fetches, each running task closes its job, and beats and polls run beside
    return psycopg_pool.AsyncConnectionPool(
        conninfo(database_url), min_size=2, max_size=concurrency + 2, open=False,
        configure=configure, reset=reset, check=check, name="procrastinate",
    )


class WorkerStopped(RuntimeError):
    """procrastinate stopped the worker on its own, not at SIGTERM or SIGINT."""


STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


async def _work(app: procrastinate.App, pool: psycopg_pool.AsyncConnectionPool, **options: Any) -> None:
    """Run the worker until SIGTERM or SIGINT (or, without ``wait``, an empty queue).

    procrastinate stops a worker whose side task failed (its heartbeat, its periodic
    deferrer, its listener: the database went away, say) and, when its shutdown then goes
    well, returns as it does at a signal. So the signals are this process's: the first
    cancels the worker, which procrastinate documents as its graceful stop (the tasks under
    way finish, or are given back after ``shutdown_graceful_timeout``), and a second ends
    the process at once, as before. A return that no signal asked for is
    :class:`WorkerStopped`, and :func:`run` starts the worker again.
    """
    loop = asyncio.get_running_loop()
    asked = False
    async with pool, app.open_async(pool=pool):
        running = asyncio.ensure_future(app.run_worker_async(install_signal_handlers=False, **options))

        def stop() -> None:
            nonlocal asked
            asked = True
            for number in STOP_SIGNALS:  # the next one takes the default action
                loop.remove_signal_handler(number)
            running.cancel()

        for number in STOP_SIGNALS:
            loop.add_signal_handler(number, stop)
        try:
            await running
        except asyncio.CancelledError:
            if not asked:
                raise
            return
        finally:
            for number in STOP_SIGNALS:
                loop.remove_signal_handler(number)
    if options.get("wait", True):
        raise WorkerStopped("its worker stopped on its own, after a failure of one of its side tasks")


def _first_line(error: BaseException) -> str:
    cause = error.__cause__ or error
    return (str(cause).strip().splitlines() or [type(cause).__name__])[0]


def _warm_sandbox() -> None:
    try:
        sandbox_pool.default_pool().warm()
    except Exception as error:  # matrices are still graded; function answers are retried
        log.warning("the sandbox for function answers did not start: %s", error)


def default_concurrency() -> int:
    """Twice the sandbox's daemons: while some tasks run in the sandbox, the others wait on
    the database (reading the submission, storing the verdict), so the daemons are not idle."""
    return 2 * sandbox_pool.default_size()
