"""Fixtures: an app on a fresh database per test, built by the Alembic migrations.

The migrations run once per session into a template; each test gets a copy of it,
so every test database is exactly what ``grader db upgrade`` builds. SQLite files
by default; with ``GRADER_TEST_DATABASE_URL`` set to a PostgreSQL server (e.g.
``postgresql+psycopg://user@/postgres?host=/tmp/pgsock``), a database per test
on that server, copied from a template database.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner

from grader.sandbox import slots
from grader.service import accounts, db
from grader.service.models import Assignment, Course, Enrolment, Item, User
from grader.service.queue import grading_queue
from grader.web import create_app

SERVER_URL = os.environ.get("GRADER_TEST_DATABASE_URL")
# The suite's sandbox slots are held outside the host's /run, in a folder that every test run
# of this host shares: a slot is a uid, and two runs at once must still hold theirs apart. Set
# here, before any test, so that every process a test starts inherits it.
os.environ[slots.LOCKS_DIR_VARIABLE] = str(
    Path(tempfile.gettempdir()) / f"grader-sandbox-slots-tests-{os.geteuid()}"
)
sqlite_only = pytest.mark.skipif(SERVER_URL is not None, reason="checks the SQLite tuning")


def _server_admin(url: str, statement: str) -> None:
    engine = sa.create_engine(url, isolation_level="AUTOCOMMIT", poolclass=sa.NullPool)
    with engine.connect() as connection:
        connection.exec_driver_sql(statement)
    engine.dispose()


@pytest.fixture(scope="session")
def template_database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path | str]:
    if SERVER_URL is None:
        path = tmp_path_factory.mktemp("template") / "grader.sqlite"
        db.upgrade_database(f"sqlite:///{path}")
        yield path
        return
    name = f"grader_template_{os.getpid()}"
    _server_admin(SERVER_URL, f"DROP DATABASE IF EXISTS {name}")
    _server_admin(SERVER_URL, f"CREATE DATABASE {name}")
    db.upgrade_database(sa.make_url(SERVER_URL).set(database=name).render_as_string(False))
    yield name
    _server_admin(SERVER_URL, f"DROP DATABASE IF EXISTS {name}")


@pytest.fixture
def database_url(tmp_path: Path, template_database: Path | str) -> Iterator[str]:
    if SERVER_URL is None:
        path = tmp_path / "grader.sqlite"
        shutil.copyfile(template_database, path)
        yield f"sqlite:///{path}"
        return
    name = f"grader_test_{uuid.uuid4().hex[:12]}"
    _server_admin(SERVER_URL, f"CREATE DATABASE {name} TEMPLATE {template_database}")
    yield sa.make_url(SERVER_URL).set(database=name).render_as_string(False)
    _server_admin(SERVER_URL, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture
def app(request: pytest.FixtureRequest, tmp_path: Path, database_url: str) -> Iterator[Flask]:
    """The application on the test's database, migrated by the template (``create_app``
    never migrates); ``@pytest.mark.config(KEY=value)`` overrides its configuration."""
    marker = request.node.get_closest_marker("config")
    app = create_app(
        {
            "TESTING": True,
            "DATABASE_URL": database_url,
            "SECRET_KEY": "test secret",
            "INSTANCE_PATH": str(tmp_path),
            **(marker.kwargs if marker else {}),
        }
    )
    yield app
    grading_queue(app).stop()
    db.database(app).dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask) -> FlaskCliRunner:
    return app.test_cli_runner()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@dataclass
class Account:
    id: int
    name: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return bearer(self.token)


class Builder:
    """Data builders (as CTFd's gen_*): each commits and returns ids, not live objects."""

    def __init__(self, app: Flask) -> None:
        self.engine = db.database(app).engine
        self.sessionmaker = db.database(app).sessionmaker

    def user(
        self, name: str, role: str = "student", password: str | None = None, full_name: str = ""
    ) -> Account:
        with self.sessionmaker.begin() as session:
            user = accounts.create_user(session, name, role, password, full_name=full_name)
            token = accounts.issue_token(session, user)
            return Account(user.id, name, token)

    def course(
        self,
        instructor: Account,
        students: Sequence[Account] = (),
        code: str = "ML101",
        section: str = "A",
    ) -> int:
        with self.sessionmaker.begin() as session:
            course = Course(code=code, title=f"Course {code}")
            session.add(course)
            session.flush()
            session.add(Enrolment(course_id=course.id, user_id=instructor.id, role="instructor"))
            for student in students:
                session.add(
                    Enrolment(course_id=course.id, user_id=student.id, role="student",
                              section=section)
                )
            return course.id

    def enrol(self, course_id: int, account: Account, role: str = "student") -> None:
        with self.sessionmaker.begin() as session:
            session.add(Enrolment(course_id=course_id, user_id=account.id, role=role))

    def assignment(
        self,
        course_id: int,
        items: list[dict[str, Any]],
        title: str = "Homework 1",
        due_at: datetime | None = None,
        **options: Any,
    ) -> tuple[int, list[int]]:
        with self.sessionmaker.begin() as session:
            assignment = Assignment(
                course_id=course_id, title=title, due_at=due_at, seed=1234, **options
            )
            assignment.items = [Item(position=i, **spec) for i, spec in enumerate(items)]
            session.add(assignment)
            session.flush()
            return assignment.id, [item.id for item in assignment.items]

    def get(self, model: type, id: int) -> Any:
        with self.sessionmaker() as session:
            return session.get(model, id)


@pytest.fixture
def build(app: Flask) -> Builder:
    return Builder(app)


@pytest.fixture
def people(build: Builder) -> dict[str, Any]:
    """An instructor and two students in one course, and an outsider in no course."""
    teacher = build.user("teacher", "instructor", full_name="Tess Teacher")
    alice = build.user("alice", full_name="Alice Liddell")
    bob = build.user("bob", full_name="Bob Marley")
    eve = build.user("eve")
    course_id = build.course(teacher, [alice, bob])
    return {"teacher": teacher, "alice": alice, "bob": bob, "eve": eve, "course_id": course_id}


def newest_revision() -> str:
    """The one head of the migrations (two heads would be two schemas)."""
    from alembic.script import ScriptDirectory

    heads = ScriptDirectory.from_config(db.alembic_config("sqlite://")).get_heads()
    assert len(heads) == 1, f"the migrations have {len(heads)} heads: {heads}"
    return heads[0]


def alive(pid: int) -> bool:
    """Whether process ``pid`` runs (a zombie has ended)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"


def wait_for(condition: Callable[[], bool], seconds: float = 10) -> bool:
    """Whether ``condition()`` holds within ``seconds``."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return condition()


@pytest.fixture(scope="session")
def postgres() -> Iterator[Any]:
    """A PostgreSQL server of the session's own (skipped without one, except in CI)."""
    from tests.postgres import PostgresServer, binaries

    bin_dir = binaries()
    if bin_dir is None:
        message = "PostgreSQL is not installed (`make system-deps` installs Debian's postgresql)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    server = PostgresServer(bin_dir)
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def postgres_template(postgres: Any) -> str:
    """A database migrated by Alembic, with procrastinate's schema: each test copies it."""
    from grader.service.remote.database import ensure_schema

    postgres.admin("CREATE DATABASE grader_template")
    db.upgrade_database(postgres.url("grader_template"))
    ensure_schema(postgres.url("grader_template"))
    return "grader_template"


@pytest.fixture
def postgres_url(postgres: Any, postgres_template: str) -> Iterator[str]:
    name = f"grader_test_{uuid.uuid4().hex[:12]}"
    postgres.admin(f"CREATE DATABASE {name} TEMPLATE {postgres_template}")
    yield postgres.url(name)
    postgres.admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


# keep User importable for tests that look rows up through the builder
__all__ = ["Account", "Builder", "User", "alive", "bearer", "newest_revision", "sqlite_only", "wait_for"]


CHROMIUM = "/usr/bin/chromium"  # Debian's (make system-deps)
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Headless chromium for a module of page tests (test_browser*.py), driven by Playwright."""
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()
