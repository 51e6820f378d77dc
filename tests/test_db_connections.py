"""PostgreSQL connections in the pool: pinged before they are lent only after sitting idle."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from grader.service import db

PID = "SELECT pg_backend_pid()"


@pytest.fixture
def database_url(postgres_url: str) -> str:  # the app's
    return postgres_url


@pytest.fixture
def engine(postgres_url: str) -> Iterator[sa.Engine]:
    made = db.make_engine(postgres_url, pool_size=1, max_overflow=0)
    yield made
    made.dispose()


def closed_by_the_server(engine: sa.Engine, postgres_url: str) -> int:
    """The pooled connection's server process, which the server has now ended."""
    with engine.connect() as connection:
        pid = connection.exec_driver_sql(PID).scalar_one()
    admin = db.make_engine(postgres_url, poolclass=sa.NullPool)
    with admin.begin() as connection:
        assert connection.execute(sa.select(sa.func.pg_terminate_backend(pid))).scalar_one()
    admin.dispose()
    return pid


def test_a_connection_closed_while_it_sat_idle_is_replaced_before_it_is_lent(
    engine, postgres_url, monkeypatch
):
    monkeypatch.setattr(db, "IDLE_PING_SECONDS", 0.0)  # every pooled connection has sat idle
    gone = closed_by_the_server(engine, postgres_url)
    with engine.connect() as connection:
        assert connection.exec_driver_sql(PID).scalar_one() != gone


def test_a_connection_in_steady_use_is_lent_without_a_ping(engine, postgres_url, monkeypatch):
    monkeypatch.setattr(db, "IDLE_PING_SECONDS", 3600.0)
    gone = closed_by_the_server(engine, postgres_url)
    with pytest.raises(sa.exc.OperationalError) as raised, engine.connect() as connection:
        connection.exec_driver_sql(PID)
    assert raised.value.connection_invalidated  # and the pool lends a fresh one next
    with engine.connect() as connection:
        assert connection.exec_driver_sql(PID).scalar_one() != gone


def test_the_server_answers_a_lost_connection_with_a_503_and_the_next_request_is_served(
    app, postgres_url, monkeypatch
):
    monkeypatch.setattr(db, "IDLE_PING_SECONDS", 3600.0)
    client = app.test_client()
    assert client.get("/healthz").status_code == 200
    closed_by_the_server(db.database(app).engine, postgres_url)
    statuses = [client.get("/healthz").status_code for _ in range(3)]
    assert statuses[0] == 503 and statuses[1:] == [200, 200]
