"""Rate limits' counters in the service's own database: one count for every process."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask

from grader.service import db
from grader.service.rate_limits import DatabaseStorage
from grader.web import create_app
from grader.web.limits import limiter


@pytest.fixture
def engines(postgres_url: str) -> Iterator[list[sa.Engine]]:
    """Two engines on one database: two processes' connections."""
    db.upgrade_database(postgres_url)
    made = [db.make_engine(postgres_url) for _ in range(2)]
    yield made
    for engine in made:
        engine.dispose()


def test_two_processes_count_against_one_window(engines):
    first, second = (DatabaseStorage("database://", engine=engine) for engine in engines)
    assert first.incr("login:alice", 60) == 1
    assert second.incr("login:alice", 60) == 2
    assert first.get("login:alice") == second.get("login:alice") == 2
    assert second.get_expiry("login:alice") == pytest.approx(first.get_expiry("login:alice"))
    first.clear("login:alice")
    assert second.get("login:alice") == 0 and second.check()


def test_concurrent_increments_are_each_counted(engines):
    storages = [DatabaseStorage("database://", engine=engine) for engine in engines]

    def hit(storage: DatabaseStorage) -> None:
        for _ in range(25):
            storage.incr("runs:7", 60)

    threads = [threading.Thread(target=hit, args=(s,)) for s in storages * 2]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert storages[0].get("runs:7") == 100


def test_an_ended_window_starts_again(engines):
    storage = DatabaseStorage("database://", engine=engines[0])
    storage.incr("k", 60, amount=5)
    with engines[0].begin() as connection:  # the window ends
        connection.execute(sa.text("UPDATE rate_limit_counters SET expires_at = 0"))
    assert storage.get("k") == 0
    assert storage.incr("k", 60) == 1


def test_the_storage_needs_an_engine():
    with pytest.raises(ValueError, match="engine"):
        DatabaseStorage("database://")


def app_on(url: str, tmp_path: Path) -> Flask:
    return create_app({"TESTING": True, "DATABASE_URL": url, "SECRET_KEY": "x",
                       "INSTANCE_PATH": str(tmp_path)})


def test_the_default_is_the_database_but_on_sqlite_served_by_one_process(postgres_url, database_url,
                                                                         tmp_path):
    db.upgrade_database(postgres_url)
    on_postgres = app_on(postgres_url, tmp_path)
    assert on_postgres.config["RATELIMIT_STORAGE_URI"] == "database://"
    assert isinstance(limiter.storage, DatabaseStorage)
    db.database(on_postgres).dispose()
    if database_url.startswith("sqlite"):
        on_sqlite = app_on(database_url, tmp_path)
        assert on_sqlite.config["RATELIMIT_STORAGE_URI"] == "memory://"
        db.database(on_sqlite).dispose()
        # served by several processes (grader serve --workers 2), they count together
        shared = create_app({"TESTING": True, "DATABASE_URL": database_url, "SECRET_KEY": "x",
                             "INSTANCE_PATH": str(tmp_path), "SERVER_PROCESSES": 2})
        assert shared.config["RATELIMIT_STORAGE_URI"] == "database://"
        db.database(shared).dispose()


def test_failed_logins_are_throttled_with_the_counts_in_postgresql(postgres_url, tmp_path):
    from tests.conftest import Builder
    from tests.test_limits import PASSWORD, api_login

    db.upgrade_database(postgres_url)
    app = create_app({"TESTING": True, "DATABASE_URL": postgres_url, "SECRET_KEY": "x",
                      "INSTANCE_PATH": str(tmp_path), "LOGIN_FAILURES_PER_ACCOUNT": "3 per 15 minutes"})
    Builder(app).user("alice", password=PASSWORD)
    client = app.test_client()
    for _ in range(3):
        assert api_login(client, "alice", "wrong password").status_code == 401
    assert api_login(client, "alice", PASSWORD).status_code == 429
    with db.database(app).engine.connect() as connection:
        counted = connection.execute(sa.text("SELECT sum(count) FROM rate_limit_counters")).scalar()
    assert counted >= 3
    db.database(app).dispose()


def test_on_sqlite_the_counts_are_kept_in_a_file_beside_the_database(tmp_path):
    from tests.conftest import Builder
    from tests.test_limits import PASSWORD, api_login

    url = f"sqlite:///{tmp_path / 'grader.sqlite'}"
    db.upgrade_database(url)
    app = create_app({"TESTING": True, "DATABASE_URL": url, "SECRET_KEY": "x", "INSTANCE_PATH": str(tmp_path),
                      "RATELIMIT_STORAGE_URI": "database://",
                      "LOGIN_FAILURES_PER_ACCOUNT": "3 per 15 minutes", "SQLITE_BUSY_TIMEOUT_MS": 500})
    Builder(app).user("alice", password=PASSWORD)
    client = app.test_client()
    # each failure counted after the view, whose request holds the database's write lock
    assert [api_login(client, "alice", "wrong password").status_code for _ in range(3)] == [401] * 3
    assert api_login(client, "alice", PASSWORD).status_code == 429
    beside = sa.create_engine(f"{url}-rate-limits")
    with beside.connect() as connection:
        assert connection.execute(sa.text("SELECT sum(count) FROM rate_limit_counters")).scalar() >= 3
    beside.dispose()
    db.database(app).dispose()
