"""The database: engine, per-request session, and migrations (Alembic builds every schema).

SQLite is the default and is tuned here (WAL, busy timeout, foreign keys, write
transactions that begin immediately); every other database gets a plain engine,
so nothing in the rest of the code depends on SQLite.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson
import sqlalchemy as sa
import sqlalchemy.orm as so
from flask import Flask, current_app, g, has_request_context, request

from grader.service import settings, storage

MIGRATIONS_PATH = Path(__file__).resolve().parents[2] / "migrations"
SQLITE_BUSY_TIMEOUT_MS = settings.SQLITE_BUSY_TIMEOUT_MS_DEFAULT
EXTENSION = "grader.service.db"
#: a pooled connection idle longer than this is pinged before it is lent again (see sat_idle)
IDLE_PING_SECONDS = 5.0


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


def make_engine(url: str, busy_timeout_ms: int = SQLITE_BUSY_TIMEOUT_MS, *,
                sqlite_foreign_keys: bool = True, **options: Any) -> sa.Engine:
    """An engine for ``url``; on SQLite, with the pragmas and the locking the service relies
    on (foreign keys enforced, unless a migration asks otherwise: see :func:`migrate`)."""
    sa_url = sa.make_url(url)
    if sa_url.get_backend_name() != "sqlite":
        engine = sa.create_engine(url, **JSON_CODEC, **options)
        if not options.get("pool_pre_ping"):
            ping_after_idle(engine)
        return engine
    storage.create_private_sqlite_file(url)  # 0600: password hashes and every answer are in it
    if "poolclass" not in options:  # the server's threads each hold one while they work
        options = {"pool_size": 20, "max_overflow": 20, **options}
    engine = sa.create_engine(url, **JSON_CODEC, **options)

    @sa.event.listens_for(engine, "connect")
    def on_connect(dbapi_connection: Any, connection_record: Any) -> None:
        # pysqlite would BEGIN lazily (deferred) on its own: the "begin" event below does it
        # instead (SQLAlchemy's documented recipe for SQLite's transactions)
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cursor.execute(f"PRAGMA foreign_keys={'ON' if sqlite_foreign_keys else 'OFF'}")
        cursor.execute("PRAGMA synchronous=NORMAL")  # durable in WAL mode up to the last checkpoint
        cursor.close()

    sa.event.listen(engine, "begin", _sqlite_on_begin)
    return engine


def sat_idle(returned_at: float | None) -> bool:
    """Whether a pooled connection given back at ``returned_at`` (``time.monotonic()``) sat
    idle long enough that the server may have closed it, and is pinged before it is lent
    again. A connection the pool has just opened (None) is lent as it is.

    The one rule of the service's two pools: SQLAlchemy's (:func:`ping_after_idle`) and
    the worker's psycopg pool for procrastinate (``remote.worker.task_pool``).
    """
    return returned_at is not None and time.monotonic() - returned_at > IDLE_PING_SECONDS


def ping_after_idle(engine: sa.Engine) -> None:
    """Ping a pooled connection before lending it only when it sat idle, when the server
    may have closed it; a connection in steady use is lent as it is.

    ``pool_pre_ping`` pings at every checkout: a round trip on each of a request's
    connections, about a seventh of a busy server's request time on PostgreSQL. A
    connection the server closed while it was in steady use fails once, as a 503, and
    the pool replaces it (SQLAlchemy's handling of disconnects).
    """

    @sa.event.listens_for(engine, "checkin")
    def on_checkin(dbapi_connection: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @sa.event.listens_for(engine, "checkout")
    def on_checkout(dbapi_connection: Any, record: Any, proxy: Any) -> None:
        if not sat_idle(record.info.get("idle_since")):
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except engine.dialect.loaded_dbapi.Error as error:
            # the pool's documented answer: this connection is dropped, a fresh one lent
            raise sa.exc.DisconnectionError(str(error)) from error


def _sqlite_on_begin(connection: sa.Connection) -> None:
    # A deferred transaction that reads and then writes cannot wait for the lock: SQLite
    # answers "database is locked" at once, ignoring the busy timeout. Taking the write
    # lock at BEGIN makes writers queue, within the busy timeout, instead. Work that
    # only reads says so (execution option ``read_only``) and takes no lock: in WAL
    # mode readers never wait for the writer.
    read_only = connection.get_execution_options().get("read_only", False)
    connection.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")


class Database:
    """An engine and its session factory."""

    def __init__(self, url: str, busy_timeout_ms: int = SQLITE_BUSY_TIMEOUT_MS) -> None:
        self.url = url
        self.engine = make_engine(url, busy_timeout_ms)
        #: the engine for work that only reads (on SQLite: no write lock)
        self.read_engine = self.engine.execution_options(read_only=True)
        self.sessionmaker = so.sessionmaker(self.engine, expire_on_commit=False)
        self.read_only_sessionmaker = so.sessionmaker(self.read_engine, expire_on_commit=False)

    def dispose(self) -> None:
        self.engine.dispose()


def init_app(app: Flask) -> None:
    app.extensions[EXTENSION] = Database(app.config["DATABASE_URL"], app.config["SQLITE_BUSY_TIMEOUT_MS"])
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
def read_only_transaction(session: so.Session) -> Iterator[so.Session]:
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


class MigrationError(RuntimeError):
    """A migration would have left the database inconsistent: it was undone."""


def upgrade_database(url: str | None = None) -> None:
    """Bring the database at ``url`` (default: the configured one) to the newest migration."""
    migrate(url or settings.database_url())


def migrate(url: str, revision: str = "head", down: bool = False) -> None:
    """Bring the database at ``url`` up (or ``down``) to ``revision``, in one transaction.

    On SQLite a migration that alters a table rebuilds it (Alembic's batch mode), and with
    foreign keys enforced, dropping the old table would first delete its rows and, through
    ``ON DELETE CASCADE``, every row referring to them. So foreign keys are off while it
    runs, as Alembic's and SQLite's documentation ask (set as the connection opens: inside a
    transaction SQLite ignores the pragma), and ``migrations/env.py`` checks every reference
    before the commit (:func:`check_references`).
    """
    from alembic import command

    sqlite = sa.make_url(url).get_backend_name() == "sqlite"
    engine = make_engine(url, poolclass=sa.NullPool, sqlite_foreign_keys=not sqlite)
    try:
        with engine.begin() as connection:
            config = alembic_config(url)
            config.attributes["connection"] = connection
            (command.downgrade if down else command.upgrade)(config, revision)
    finally:
        engine.dispose()


def check_references(connection: sa.Connection) -> None:
    """On SQLite, raise :class:`MigrationError` where a row refers to one that is not there
    (a migration ran with foreign keys off): the caller's transaction is then undone."""
    if connection.dialect.name != "sqlite":
        return  # the other databases enforce references inside migrations too
    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").all()
    if broken:
        tables = sorted({row[0] for row in broken})
        raise MigrationError(f"the migration would leave {len(broken)} row(s) referring to rows "
                             f"that are not there, in {', '.join(tables)}: nothing was changed")


def current_revision(url: str) -> str | None:
    """The migration the database is at (None before the first)."""
    from alembic.runtime.migration import MigrationContext

    engine = make_engine(url, poolclass=sa.NullPool)
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    finally:
        engine.dispose()
