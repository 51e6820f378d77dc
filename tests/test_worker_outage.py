"""A ``grader worker`` rides out a restart of its database: procrastinate stops its worker
when the server goes away, and the process starts it again once the server answers, its
sandbox kept; what was submitted meanwhile is graded, none lost, none twice."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from grader.service import db
from grader.service.models import GradingJob, Submission
from grader.service.remote.database import ensure_schema
from tests.conftest import wait_for
from tests.postgres import PostgresServer
from tests.test_db_connections import PID
from tests.test_remote_queue import ITEMS, post, right_answer
from tests.test_worker import Workers, ready

pytestmark = [
    pytest.mark.slow,
    # every submission answers 202 at once, without a look at its row: with a wait of 0 the
    # request still looks once, and a worker quicker than this process's answer (a loaded
    # machine) would have its verdict there already, a 201
    pytest.mark.config(GRADING_QUEUE="procrastinate", SUBMIT_WAIT_SECONDS=0, SUBMIT_WAITERS=0),
]


@pytest.fixture
def server(postgres: Any) -> Iterator[PostgresServer]:
    """A server of this test's own: restarting the session's would cut the others' connections."""
    own = PostgresServer(postgres.bin_dir)
    own.start()
    yield own
    own.stop()


@pytest.fixture
def database_url(server: PostgresServer) -> str:
    server.admin("CREATE DATABASE outage")
    url = server.url("outage")
    db.upgrade_database(url)
    ensure_schema(url)
    return url


@pytest.fixture
def workers(database_url: str, tmp_path: Path) -> Iterator[Workers]:
    workers = Workers(database_url, tmp_path)
    yield workers
    workers.stop()


def graded(build) -> int:
    with build.sessionmaker() as session:
        return session.scalar(sa.select(sa.func.count()).where(GradingJob.state == "done"))


def test_a_worker_grades_again_after_its_database_restarts(app, client, build, people, server, workers):
    item_id = build.assignment(people["course_id"], ITEMS)[1][0]
    alice = people["alice"]
    answer = right_answer(build, alice, item_id)
    worker = workers.start()
    assert wait_for(lambda: ready(workers), 30)
    assert post(client, alice, item_id, answer).status_code == 202
    assert wait_for(lambda: graded(build) == 1, 30)

    server.restart(down_seconds=1.0)
    # the app's pooled connections ended with the server: it answers 503 until it has new ones
    assert wait_for(lambda: client.get("/healthz").status_code == 200, 10)
    assert wait_for(lambda: post(client, alice, item_id, answer).status_code == 202, 10)
    assert wait_for(lambda: graded(build) == 2, 60), "nothing was graded after the restart"
    assert worker.poll() is None  # the same process, not a restarted one
    log = (workers.folder / "worker0.log").read_text()
    assert "the database was lost" in log
    assert "ended with status: Error" not in log  # no grading failed on a connection of before
    with build.sessionmaker() as session:
        rows = session.execute(sa.select(Submission.verdict, GradingJob.attempts).join(GradingJob)).all()
    assert [(verdict["correct"], attempts) for verdict, attempts in rows] == [(True, 1), (True, 1)]


def test_a_step_on_a_connection_the_server_closed_runs_again_on_a_fresh_one(postgres_url, monkeypatch):
    from grader.service.remote import worker
    from tests.test_db_connections import PID, closed_by_the_server

    monkeypatch.setattr(db, "IDLE_PING_SECONDS", 3600.0)  # lent as it is: in steady use
    engine = db.make_engine(postgres_url, pool_size=1, isolation_level="AUTOCOMMIT")
    grader = worker.Grader(worker.WorkerConfig(postgres_url, concurrency=1), engine)

    def step(engine: sa.Engine, statement: str = PID) -> int:
        with engine.connect() as connection:
            return connection.exec_driver_sql(statement).scalar_one()

    try:
        gone = closed_by_the_server(engine, postgres_url)
        assert grader.run_step(step) != gone  # no error: the task keeps its try
        with pytest.raises(sa.exc.ProgrammingError):  # any other error is the task's
            grader.run_step(step, "SELECT nonsense")
    finally:
        engine.dispose()


def test_the_queue_upkeep_rides_out_a_restart_of_its_database(postgres_url, monkeypatch, caplog):
    """A round of upkeep that a restart cut short is run again on a fresh connection, or skipped
    while the server is away: not a failed task in the worker's log; any other error is raised."""
    import asyncio
    from types import SimpleNamespace

    import procrastinate
    import psycopg

    from grader.service.remote import worker
    from tests.test_db_connections import closed_by_the_server

    monkeypatch.setattr(db, "IDLE_PING_SECONDS", 3600.0)  # lent as it is: in steady use
    config = worker.WorkerConfig(postgres_url, concurrency=1)
    engine = db.make_engine(postgres_url, pool_size=1, isolation_level="AUTOCOMMIT")
    away = db.make_engine("postgresql+psycopg://grader@/none?host=/nonexistent", poolclass=sa.NullPool)
    try:
        tasks = worker.build_app(config, worker.Grader(config, engine)).tasks
        closed_by_the_server(engine, postgres_url)
        tasks["refresh_queue_statistics"].func(timestamp=0)
        assert "the step is run again" in caplog.text
        away_tasks = worker.build_app(config, worker.Grader(config, away)).tasks
        away_tasks["refresh_queue_statistics"].func(timestamp=0)
        assert "look at the queue's statistics is skipped this round" in caplog.text
    finally:
        engine.dispose()

    def stalled_jobs_failing_with(error: Exception) -> SimpleNamespace:
        async def get_stalled_jobs(**_: Any) -> list[Any]:
            raise error
        manager = SimpleNamespace(get_stalled_jobs=get_stalled_jobs)
        return SimpleNamespace(app=SimpleNamespace(job_manager=manager))

    retry = tasks["retry_stalled_gradings"].func
    lost = procrastinate.exceptions.ConnectorException()
    lost.__cause__ = psycopg.errors.AdminShutdown("terminating connection due to administrator command")
    asyncio.run(retry(stalled_jobs_failing_with(lost), timestamp=0))
    assert "retry of a lost worker's tasks is skipped this round" in caplog.text
    wrong = procrastinate.exceptions.ConnectorException()
    wrong.__cause__ = psycopg.errors.UndefinedColumn("column does not exist")
    with pytest.raises(procrastinate.exceptions.ConnectorException):
        asyncio.run(retry(stalled_jobs_failing_with(wrong), timestamp=0))


def test_a_worker_whose_listening_connection_is_cut_carries_on(app, client, build, people, server, workers):
    """The connection a worker LISTENs on is cut (a proxy's idle timeout, an administrator's
    pg_terminate_backend) while the database stays up: the worker goes on taking tasks."""
    item_id = build.assignment(people["course_id"], ITEMS)[1][0]
    alice = people["alice"]
    answer = right_answer(build, alice, item_id)
    worker = workers.start()
    assert wait_for(lambda: ready(workers), 30)
    assert wait_for(lambda: cut_listening(server) > 0, 10)
    log_file = workers.folder / "worker0.log"
    assert post(client, alice, item_id, answer).status_code == 202
    assert wait_for(lambda: graded(build) == 1, 60), log_file.read_text()
    assert worker.poll() is None  # the same process, still working


def cut_listening(server: PostgresServer) -> int:
    """Ends the connections that LISTEN (as an administrator's pg_terminate_backend); how many."""
    return len(in_outage(server, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                 "WHERE query ILIKE 'LISTEN%%'"))


def in_outage(server: PostgresServer, statement: str) -> list[Any]:
    """``statement``'s rows, run in the test's database as its administrator would."""
    engine = sa.create_engine(server.url("outage"), isolation_level="AUTOCOMMIT", poolclass=sa.NullPool)
    try:
        with engine.connect() as connection:
            result = connection.exec_driver_sql(statement)
            return list(result) if result.returns_rows else []
    finally:
        engine.dispose()


def test_a_worker_stopped_by_a_failed_side_task_starts_again(app, client, build, people, server, workers):
    """procrastinate stops its worker when one of its side tasks fails (here the periodic
    deferrer, its table out of reach for a moment) and, the database answering, stops cleanly:
    the process starts it again rather than exit as if SIGTERM had asked it to."""
    item_id = build.assignment(people["course_id"], ITEMS)[1][0]
    alice = people["alice"]
    answer = right_answer(build, alice, item_id)
    worker = workers.start()
    assert wait_for(lambda: ready(workers), 30)
    log_file = workers.folder / "worker0.log"
    in_outage(server, "ALTER TABLE procrastinate_periodic_defers RENAME TO periodic_defers_away")
    try:
        assert wait_for(lambda: "failed with exception" in log_file.read_text(), 15), log_file.read_text()
    finally:
        in_outage(server, "ALTER TABLE periodic_defers_away RENAME TO procrastinate_periodic_defers")
    assert post(client, alice, item_id, answer).status_code == 202
    assert wait_for(lambda: graded(build) == 1, 60), log_file.read_text()
    assert worker.poll() is None, log_file.read_text()


def test_the_task_pool_pings_a_connection_only_after_it_sat_idle(postgres_url, monkeypatch):
    """procrastinate's connections follow the service's rule (db.sat_idle): one the pool has
    just opened, or one in steady use, is lent as it is; one that sat idle is pinged first,
    and replaced where the server had closed it."""
    import asyncio

    import psycopg_pool

    from grader.service.remote import worker

    pinged: list[int] = []
    check = psycopg_pool.AsyncConnectionPool.check_connection

    async def counted(connection: Any) -> None:
        pinged.append(connection.info.backend_pid)
        await check(connection)

    monkeypatch.setattr(psycopg_pool.AsyncConnectionPool, "check_connection", staticmethod(counted))

    async def lent(pool: psycopg_pool.AsyncConnectionPool) -> int:
        async with pool.connection() as connection:
            return (await (await connection.execute(PID)).fetchone())[0]

    async def scenario() -> None:
        async with worker.task_pool(postgres_url, concurrency=1) as pool:
            await pool.wait()
            first = {await lent(pool), await lent(pool)}
            assert pinged == []  # just opened, then in steady use
            monkeypatch.setattr(db, "IDLE_PING_SECONDS", 0.0)  # every one has sat idle
            ended = closed_all_but_this(postgres_url)
            assert first <= ended
            assert await lent(pool) not in ended
            assert set(pinged) & ended  # found closed by its ping, not by the task's query

    asyncio.run(scenario())


def closed_all_but_this(url: str) -> set[int]:
    """Ends every other connection to the database (as an administrator would); their pids."""
    engine = sa.create_engine(url, isolation_level="AUTOCOMMIT", poolclass=sa.NullPool)
    try:
        with engine.connect() as connection:
            ended = connection.execute(sa.text(
                "SELECT pid, pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            ))
            return {pid for pid, done in ended if done}
    finally:
        engine.dispose()
