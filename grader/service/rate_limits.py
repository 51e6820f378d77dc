"""A storage for the ``limits`` library (flask-limiter's counters) in the service's own database.

flask-limiter ships storages for memory, Redis, Memcached, MongoDB and etcd; none is
the database every process of the server already shares. ``limits`` documents how to
add one: subclass :class:`limits.storage.Storage`, implement its abstract methods and
name a scheme (``database://``). Counters are fixed windows: one row per key, its
count and when its window ends; an increment is one upsert, atomic in SQLite and
PostgreSQL alike, so every process counts against the same row.

On SQLite the counters live in a file of their own beside the database
(:func:`counters_engine`). SQLite has one writer per file, and a request holds the
database's write lock from its first statement on (grader.service.db): a count
written to the same file from inside that request would wait for the request itself.
"""

from __future__ import annotations

import time
from typing import Any, ClassVar

import sqlalchemy as sa
from limits.storage import Storage
from sqlalchemy.dialects import postgresql, sqlite

from grader.service import db
from grader.service.models import RateLimitCounter

COUNTERS = RateLimitCounter.__table__
MAX_KEY = 255
COUNTERS_SUFFIX = "-rate-limits"


def counters_engine(database: db.Database) -> sa.Engine:
    """Where the counters are kept: the service's own database; on SQLite, a file beside it
    (``grader.sqlite-rate-limits``), which every process of the machine shares."""
    url = counters_url(database.url)
    return database.engine if url is None else _counters_file(url)


def counters_url(database_url: str) -> str | None:
    """The counters' own file on SQLite (None elsewhere: they are in the database)."""
    url = sa.make_url(database_url)
    if url.get_backend_name() != "sqlite":
        return None
    if not url.database or url.database == ":memory:":
        raise ValueError("database:// on SQLite needs a database file, beside which the counters are kept")
    return url.set(database=url.database + COUNTERS_SUFFIX).render_as_string(False)


def prepare_counters(database_url: str) -> None:
    """Make the counters' file on SQLite, in WAL mode, before the processes that share it start:
    processes opening a new file together race to switch it to WAL, and SQLite refuses the
    loser at once ("database is locked"), before any busy timeout."""
    url = counters_url(database_url)
    if url is not None:
        _counters_file(url).dispose()


def _counters_file(url: str) -> sa.Engine:
    engine = db.make_engine(url)
    with engine.begin() as connection:  # processes starting together: each may try
        connection.execute(sa.schema.CreateTable(COUNTERS, if_not_exists=True))
    return engine


class DatabaseStorage(Storage):
    """``database://``: the counters in the table ``rate_limit_counters`` of ``engine``."""

    STORAGE_SCHEME: ClassVar[list[str]] = ["database"]  # how limits finds this class by URI

    def __init__(self, uri: str | None = None, wrap_exceptions: bool = False, **options: Any) -> None:
        engine = options.pop("engine", None)
        if not isinstance(engine, sa.Engine):
            raise ValueError("database:// needs the engine in RATELIMIT_STORAGE_OPTIONS['engine']")
        super().__init__(uri, wrap_exceptions=wrap_exceptions)
        self.engine = engine

    @property
    def base_exceptions(self) -> type[Exception] | tuple[type[Exception], ...]:
        return sa.exc.SQLAlchemyError

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        now = time.time()
        insert = (postgresql if self.engine.dialect.name == "postgresql" else sqlite).insert(COUNTERS)
        expired = COUNTERS.c.expires_at <= now
        statement = (
            insert.values(key=key[:MAX_KEY], count=amount, expires_at=now + expiry)
            .on_conflict_do_update(
                index_elements=[COUNTERS.c.key],
                set_={
                    # a window that has ended starts again with this request
                    "count": sa.case((expired, amount), else_=COUNTERS.c.count + amount),
                    "expires_at": sa.case((expired, now + expiry), else_=COUNTERS.c.expires_at),
                },
            )
            .returning(COUNTERS.c.count)
        )
        with self.engine.begin() as connection:
            return int(connection.execute(statement).scalar_one())

    def get(self, key: str) -> int:
        with self.engine.connect() as connection:
            count = connection.execute(
                sa.select(COUNTERS.c.count).where(
                    COUNTERS.c.key == key[:MAX_KEY], COUNTERS.c.expires_at > time.time()
                )
            ).scalar()
        return int(count or 0)

    def get_expiry(self, key: str) -> float:
        with self.engine.connect() as connection:
            expires_at = connection.execute(
                sa.select(COUNTERS.c.expires_at).where(COUNTERS.c.key == key[:MAX_KEY])
            ).scalar()
        return float(expires_at) if expires_at is not None else time.time()

    def check(self) -> bool:
        try:
            with self.engine.connect() as connection:
                connection.execute(sa.select(sa.literal(1)))
        except sa.exc.SQLAlchemyError:
            return False
        return True

    def reset(self) -> int | None:
        with self.engine.begin() as connection:
            return connection.execute(sa.delete(COUNTERS)).rowcount

    def clear(self, key: str) -> None:
        with self.engine.begin() as connection:
            connection.execute(sa.delete(COUNTERS).where(COUNTERS.c.key == key[:MAX_KEY]))
