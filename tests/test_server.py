"""``grader serve``: gunicorn configured by grader.server.config, and its server hooks.

The whole server under load, killed and restarted, is in test_live_server.py.
"""

from __future__ import annotations

import os
import socket
import sqlite3
from pathlib import Path
from types import SimpleNamespace

import pytest
import sqlalchemy as sa

from grader import server
from grader.server import config
from grader.service import db, jobs, rate_limits
from grader.service.models import GradingJob
from grader.service.queue import GradingQueue
from tests.conftest import SERVER_URL


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("sqlite:////tmp/grader.sqlite", 1),
        ("postgresql+psycopg://grader@/grader", max(1, min(len(os.sched_getaffinity(0)), 4))),
    ],
)
def test_default_processes_follow_the_database(url, expected):
    assert config.default_workers(url) == expected


def test_the_server_is_gunicorn_with_the_configuration_and_the_options():
    configured = server.Server({"bind": ["127.0.0.1:9"], "workers": 3, "threads": 2}).cfg
    assert (configured.workers, configured.threads, configured.bind) == (3, 2, ["127.0.0.1:9"])
    assert configured.worker_class_str == "gthread"
    assert not configured.preload_app  # each worker builds its own application
    for hook in ("on_starting", "post_worker_init", "worker_exit", "child_exit"):
        assert getattr(configured, hook) is getattr(config, hook), hook


@pytest.fixture
def configured_database(monkeypatch, tmp_path) -> str:
    if SERVER_URL is not None:
        pytest.skip("creates a SQLite database of its own")
    url = f"sqlite:///{tmp_path / 'fresh.sqlite'}"
    monkeypatch.setenv("GRADER_DATABASE_URL", url)
    return url


def test_starting_migrates_the_database(configured_database):
    assert db.current_revision(configured_database) is None
    config.on_starting(server=None)
    assert db.current_revision(configured_database) is not None


@pytest.mark.parametrize("workers", [1, 2])
def test_starting_several_processes_makes_their_counters_file_first(configured_database, workers):
    """Processes opening a new SQLite file together race to switch it to WAL, and the loser
    was refused at once: a server of two processes on a fresh database could fail to boot."""
    counters = Path(sa.make_url(configured_database).database + rate_limits.COUNTERS_SUFFIX)
    config.on_starting(server=SimpleNamespace(cfg=SimpleNamespace(workers=workers)))
    if workers == 1:  # its counters stay in its memory
        assert not counters.exists()
        return
    with sqlite3.connect(counters) as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        tables = {name for (name,) in connection.execute("SELECT name FROM sqlite_master")}
    assert rate_limits.COUNTERS.name in tables


def test_starting_queues_again_what_was_left_running(monkeypatch, build, people, database_url):
    monkeypatch.setenv("GRADER_DATABASE_URL", database_url)
    left = _running_job(build, people)
    config.on_starting(server=None)
    job = build.get(GradingJob, left)
    assert (job.state, job.lease_owner) == ("queued", None)


def test_a_dead_workers_jobs_are_queued_again_at_once(monkeypatch, build, people, database_url):
    monkeypatch.setenv("GRADER_DATABASE_URL", database_url)
    left = _running_job(build, people)  # leased by this process, as a worker would
    config.child_exit(server=None, worker=SimpleNamespace(pid=os.getpid() + 1))
    assert build.get(GradingJob, left).state == "running"  # another worker's: untouched
    config.child_exit(server=None, worker=SimpleNamespace(pid=os.getpid()))
    assert build.get(GradingJob, left).state == "queued"


def _running_job(build, people) -> int:
    from grader.service import submissions
    from grader.service.models import Item, User

    _, (item_id,) = build.assignment(people["course_id"], [{"kind": "softmax", "K": 3}])
    with build.sessionmaker() as session:
        user, item = session.get(User, people["alice"].id), session.get(Item, item_id)
        submission = submissions.submit(
            session, user, item, "[1, 0, 0]", "json",
            queue=GradingQueue(build.sessionmaker), per_minute=10,
        )
        return submission.job.id


def test_a_taken_address_is_refused_at_once():
    with socket.create_server(("127.0.0.1", 0)) as taken, pytest.raises(OSError):
        server.check_address("127.0.0.1", taken.getsockname()[1])
    server.check_address("127.0.0.1", 0)
    if not socket.has_ipv6:
        pytest.skip("no IPv6 on this machine")
    try:
        server.check_address("::1", 0)
    except OSError:
        pytest.skip("IPv6 loopback is not configured")


def test_building_the_app_neither_migrates_nor_starts_grading(configured_database, tmp_path):
    from grader.service.queue import grading_queue
    from grader.web import create_app

    app = create_app({"INSTANCE_PATH": str(tmp_path), "SECRET_KEY": "x"})
    try:
        assert db.current_revision(configured_database) is None
        assert not grading_queue(app).sweeping
        assert grading_queue(app).policy == jobs.JobPolicy.from_config(app.config)
    finally:
        db.database(app).dispose()
