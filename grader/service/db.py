"""The database: engine, per-request session, and migrations (Alembic builds every schema).

SQLite is the default and is tuned here (WAL, busy timeout, foreign keys, write
transactions that begin immediately); every other database gets a plain engine,
so nothing in the rest of the code depends on SQLite.
"""

from __future__ import annotations

import fcntl
import json
import os
import sqlite3
import threading
import weakref
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import orjson
import sqlalchemy as sa
import sqlalchemy.orm as so
from flask import Flask, current_app, g, has_request_context, request

from grader.service import settings, storage

MIGRATIONS_PATH = Path(__file__).resolve().parents[2] / "migrations"
SQLITE_BUSY_TIMEOUT_MS = 10_000
LOCK_FILE_SUFFIX = "-writers.lock"  # beside the database file: the server's processes queue on it
EXTENSION = "grader.service.db"


def json_dumps(value: Any) -> str:
    """JSON columns' text: orjson, several times faster than ``json`` on verdicts."""
    try:
        return orjson.dumps(value, option=orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS).decode()
    except TypeError:  # what orjson refuses (an int too large for 64 bits...) json still writes
        return json.dumps(value)


def json_loads(text: str | bytes) -> Any:
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:  # NaN and Infinity, which json wrote before
        return json.loads(text)


JSON_CODEC = {"json_serializer": json_dumps, "json_deserializer": json_loads}


def make_engine(url: str, **options: Any) -> sa.Engine:
    """An engine for ``url``; on SQLite, with the pragmas and locking the service relies on."""
    sa_url = sa.make_url(url)
    if sa_url.get_backend_name() != "sqlite":
        return sa.create_engine(url, pool_pre_ping=True, **JSON_CODEC, **options)
    storage.create_private_sqlite_file(url)  # 0600: password hashes and every answer are in it
    if "poolclass" not in options:  # threads of the server each hold one while they work
        options = {"pool_size": 20, "max_overflow": 20, **options}
    engine = sa.create_engine(url, **JSON_CODEC, **options)
    sa.event.listen(engine, "connect", _sqlite_on_connect)
    sa.event.listen(engine, "begin", _sqlite_on_begin)
    return engine


def _sqlite_on_connect(dbapi_connection: Any, connection_record: Any) -> None:
    # pysqlite would BEGIN lazily (deferred) on its own; take the BEGIN over (see below)
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")  # durable in WAL mode up to the last checkpoint
    cursor.close()


def _sqlite_on_begin(connection: sa.Connection) -> None:
    # A deferred transaction that reads and then writes cannot wait for the lock: SQLite
    # answers "database is locked" at once, ignoring the busy timeout. Taking the write
    # lock at BEGIN makes writers queue instead. Read-only work may opt out.
    # (on the driver's connection: SQLAlchemy's execution machinery would cost more than it)
    begin = "BEGIN" if connection.get_execution_options().get("read_only") else "BEGIN IMMEDIATE"
    try:
        connection.connection.driver_connection.execute(begin)
    except sqlite3.Error as error:  # as SQLAlchemy would raise it: a busy database is a 503
        raise sa.exc.OperationalError(begin, None, error) from error


# Writers of one process queue on a Python lock before SQLite's: SQLite makes a writer
# that finds its lock taken sleep and poll (1, 2, 5, 10... ms), so under load the lock
# sits free while its waiters sleep; a Python lock hands it over at once. The processes
# of one server then queue likewise on a lock file beside the database (flock: the
# kernel hands it over, and frees it when its holder dies). SQLite's busy timeout still
# orders the writers of other programs.
#
# Behind the lock, the writers of one process also share one connection. A connection
# keeps the pages it read until another connection writes: then it must drop them all
# and read the tables again. Writers taking turns on the pool's connections found every
# cache cold; one connection that does all the writing keeps its cache warm, and a
# write transaction skips the pool's checkout and checkin too.
_writer_gates: weakref.WeakKeyDictionary[sa.Engine, threading.Lock] = weakref.WeakKeyDictionary()
_gates_lock = threading.Lock()
_WRITER = "_grader_writer"  # the engine's write connection, an attribute of the engine
_DATABASE_PATH = "_grader_database_path"  # the database file's absolute path, likewise


@contextmanager
def write_transaction(engine: sa.Engine) -> Iterator[sa.Connection]:
    """A write transaction (on SQLite, on the process's write connection), queued fairly."""
    if engine.dialect.name != "sqlite":
        with engine.begin() as connection:
            yield connection
        return
    with _gates_lock:
        gate = _writer_gates.setdefault(engine, threading.Lock())
    if not gate.acquire(timeout=SQLITE_BUSY_TIMEOUT_MS / 1000):
        raise sa.exc.OperationalError("BEGIN IMMEDIATE", None, TimeoutError("database is busy"))
    try:
        with _process_turn(engine):
            yield from _write_on_shared_connection(engine)
    finally:
        gate.release()


@contextmanager
def _process_turn(engine: sa.Engine) -> Iterator[None]:
    """This process's turn among the server's processes (held by one thread: see the gate).

    No timeout: the holder is a write transaction of this server, which SQLite's own
    busy timeout bounds; the threads queued behind the gate keep theirs.
    """
    fd = _lock_file(engine)
    if fd is None:  # an in-memory database has this process only
        yield
        return
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)


_lock_files: dict[tuple[str, int], int] = {}  # (database file, pid) -> the open lock file


def _lock_file(engine: sa.Engine) -> int | None:
    database = getattr(engine, _DATABASE_PATH, None)
    if database is None:  # resolved once: abspath asks the kernel for the working directory
        database = engine.url.database or ""
        if database and database != ":memory:" and not database.startswith("file:"):
            database = os.path.abspath(database)
        setattr(engine, _DATABASE_PATH, database)
    if not database.startswith("/"):  # in memory: this process only
        return None
    key = (database, os.getpid())  # a forked process opens its own
    fd = _lock_files.get(key)
    if fd is None:
        opened = os.open(f"{key[0]}{LOCK_FILE_SUFFIX}", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        fd = _lock_files.setdefault(key, opened)
        if fd != opened:  # another thread opened it first
            os.close(opened)
    return fd


def _write_on_shared_connection(engine: sa.Engine) -> Iterator[sa.Connection]:
    """The process's write connection, in a transaction (see the comment above)."""
    connection = getattr(engine, _WRITER, None)
    if connection is None or connection.closed or connection.invalidated:
        connection = engine.connect()
        setattr(engine, _WRITER, connection)
    try:
        with connection.begin():
            yield connection
    except BaseException as error:
        # a refusal was rolled back cleanly; after a database error the connection goes
        # back to the pool, whose reset ends whatever a failed commit or rollback left
        if (
            isinstance(error, sa.exc.SQLAlchemyError)
            or connection.invalidated
            or connection.in_transaction()
        ):
            _close_writer(engine)
        raise


def _close_writer(engine: sa.Engine) -> None:
    connection = getattr(engine, _WRITER, None)
    setattr(engine, _WRITER, None)
    if connection is not None:
        with suppress(sa.exc.SQLAlchemyError):
            connection.close()


def dispose_engine(engine: sa.Engine) -> None:
    """Close the engine's connections, the write connection among them."""
    gate = _writer_gates.get(engine)
    if gate is None or not gate.acquire(timeout=SQLITE_BUSY_TIMEOUT_MS / 1000):
        _close_writer(engine)  # no writer yet, or one that hangs: close it all the same
    else:
        try:
            _close_writer(engine)
        finally:
            gate.release()
    engine.dispose()


class Prepared:
    """A Core statement compiled once per dialect and run on the driver's cursor.

    For the few statements every submission runs: SQLAlchemy's execution (cache
    lookup, parameter building, events, result wrapping) costs about twice what
    SQLite takes to run them. Parameters and results pass through the same type
    processors as SQLAlchemy's (aware datetimes, JSON), and driver errors are
    raised as SQLAlchemy's. Every column with a Python-side default must be given:
    a statement that needs one is refused when first compiled.
    """

    def __init__(self, statement: sa.Executable, keys: Iterable[str]) -> None:
        self.statement = statement
        self.keys = tuple(keys)  # the parameters every execution gives, no more, no fewer
        self._key_set = frozenset(self.keys)
        self._plans: dict[tuple[str, str], _Plan] = {}

    def first(self, connection: sa.Connection, params: Mapping[str, Any]) -> dict[str, Any] | None:
        """The first row, as a dict of its columns, or None."""
        plan, cursor = self._run(connection, params)
        try:
            row = cursor.fetchone()
            if row is None:
                return None
            processors = plan.result_processors(connection.dialect, cursor.description)
        finally:
            cursor.close()
        return {
            name: value if process is None else process(value)
            for name, process, value in zip(plan.names, processors, row, strict=True)
        }

    def scalar(self, connection: sa.Connection, params: Mapping[str, Any]) -> Any:
        """The first column of the first row (e.g. what RETURNING gave), or None."""
        row = self.first(connection, params)
        return None if row is None else next(iter(row.values()))

    def rowcount(self, connection: sa.Connection, params: Mapping[str, Any]) -> int:
        """How many rows an UPDATE or DELETE matched."""
        _plan, cursor = self._run(connection, params)
        try:
            return cursor.rowcount
        finally:
            cursor.close()

    def _plan(self, dialect: sa.Dialect) -> _Plan:
        key = (dialect.name, dialect.driver)
        plan = self._plans.get(key)
        if plan is None:
            plan = self._plans.setdefault(key, _Plan(self.statement, self.keys, dialect))
        return plan

    def _run(self, connection: sa.Connection, params: Mapping[str, Any]) -> tuple[_Plan, Any]:
        # compiled for these keys only: a value under another key would be dropped unseen
        if params.keys() != self._key_set:
            raise ValueError(f"give exactly {sorted(self._key_set)}, not {sorted(params)}")
        dialect = connection.dialect
        plan = self._plan(dialect)
        parameters = plan.parameters(params)
        dbapi_connection = connection.connection
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(plan.sql, parameters)
        except dialect.loaded_dbapi.Error as error:
            cursor.close()
            if dialect.is_disconnect(error, dbapi_connection, cursor):
                connection.invalidate(error)
            raise sa.exc.DBAPIError.instance(
                plan.sql, parameters, error, dialect.loaded_dbapi.Error, dialect=dialect
            ) from error
        return plan, cursor


def on_connection(executor: so.Session | sa.Connection) -> sa.Connection:
    """The connection to run Core statements on: a session's, after flushing what it holds."""
    if isinstance(executor, so.Session):
        executor.flush()
        return executor.connection()
    return executor


class _Plan:
    """A statement as one dialect's driver takes it: SQL, parameter order, type processors."""

    def __init__(self, statement: sa.Executable, keys: tuple[str, ...], dialect: sa.Dialect) -> None:
        compiled = statement.compile(dialect=dialect, column_keys=list(keys))
        if compiled.insert_prefetch or compiled.update_prefetch:
            missing = [c.key for c in (*compiled.insert_prefetch, *compiled.update_prefetch)]
            raise ValueError(f"give every column with a Python-side default: {missing}")
        if compiled.literal_execute_params or compiled.post_compile_params:
            raise ValueError("parameters rendered into the SQL are not supported")
        self.compiled = compiled
        self.sql = compiled.string
        self.positions = compiled.positiontup if compiled.positional else None
        self.bind_processors = dict(compiled._bind_processors)
        self.escaped = compiled.escaped_bind_names
        self.sequence = dialect.execute_sequence_format
        selected = getattr(statement, "selected_columns", None)
        returning = getattr(statement, "_returning", ())
        columns = list(selected) if selected is not None else list(returning)
        self.names = [column.key for column in columns]
        self._types = [column.type for column in columns]
        self._result_processors: list[Any] | None = None

    def result_processors(self, dialect: sa.Dialect, description: Any) -> list[Any]:
        """Per column, what turns the driver's value into the column type's (as the first
        result's description says the database typed it: the same for every run)."""
        if self._result_processors is None:
            self._result_processors = [
                type_._cached_result_processor(dialect, column[1])
                for type_, column in zip(self._types, description, strict=True)
            ]
        return self._result_processors

    def parameters(self, params: Mapping[str, Any]) -> Any:
        values = self.compiled.construct_params(params, escape_names=False)
        process = self.bind_processors
        if self.positions is not None:
            return self.sequence(
                [process[k](values[k]) if k in process else values[k] for k in self.positions]
            )
        return {
            self.escaped.get(k, k): process[k](v) if k in process else v for k, v in values.items()
        }


class Database:
    """An engine and its session factory."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        #: the engine for work that only reads (on SQLite: no write lock)
        self.read_engine = self.engine.execution_options(read_only=True)
        self.sessionmaker = so.sessionmaker(self.engine, expire_on_commit=False)
        self.read_only_sessionmaker = so.sessionmaker(self.read_engine, expire_on_commit=False)

    def dispose(self) -> None:
        dispose_engine(self.engine)


def init_app(app: Flask) -> None:
    app.extensions[EXTENSION] = Database(app.config["DATABASE_URL"])
    app.teardown_appcontext(close_session)


def database(app: Flask | None = None) -> Database:
    return (app or current_app).extensions[EXTENSION]


READ_ONLY_METHODS = ("GET", "HEAD")


def get_session() -> so.Session:
    """The request's session, opened on first use and closed at teardown.

    GET and HEAD only read (the views keep it so): on SQLite their transactions do
    not take the write lock, so reads never queue behind submissions.
    """
    if "db_session" not in g:
        read_only = has_request_context() and request.method in READ_ONLY_METHODS
        db = database()
        g.db_session = (db.read_only_sessionmaker if read_only else db.sessionmaker)()
    return g.db_session


@contextmanager
def reading(session: so.Session) -> Iterator[so.Session]:
    """Reads ahead of a write, in a transaction of their own that ends here.

    On SQLite the transaction is deferred, so the write that follows takes the write
    lock only for itself instead of across the reads (a reader cannot safely become
    a writer, hence two transactions). Inside an open transaction, just that one.
    """
    if session.in_transaction():
        yield session
        return
    session.connection(execution_options={"read_only": True})
    try:
        yield session
    except BaseException:
        session.rollback()
        raise
    session.commit()


def close_session(error: BaseException | None = None) -> None:
    session = g.pop("db_session", None)
    if session is not None:
        session.close()


def alembic_config(url: str) -> Any:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_PATH))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade_database(url: str | None = None) -> None:
    """Bring the database at ``url`` (default: the configured one) to the newest migration."""
    from alembic import command

    url = url or settings.database_url()
    engine = make_engine(url, poolclass=sa.NullPool)
    try:
        with engine.begin() as connection:
            config = alembic_config(url)
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
    finally:
        engine.dispose()


def current_revision(url: str) -> str | None:
    """The migration the database is at (None before the first)."""
    from alembic.runtime.migration import MigrationContext

    engine = make_engine(url, poolclass=sa.NullPool)
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    finally:
        engine.dispose()
