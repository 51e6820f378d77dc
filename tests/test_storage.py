"""Operators' errors: a full disk or a read-only folder is named as such; private files are 0600."""

from __future__ import annotations

import os
import shutil
import sqlite3
import stat
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from grader.service import db, storage
from grader.web import create_app
from tests.conftest import sqlite_only

ROOT = Path(__file__).resolve().parents[1]


def sqlite_error(code: int, text: str) -> sqlite3.OperationalError:
    error = sqlite3.OperationalError(text)
    error.sqlite_errorcode = code
    return error


class PgError(Exception):
    def __init__(self, sqlstate: str) -> None:
        super().__init__(f"server says {sqlstate}")
        self.sqlstate = sqlstate


@pytest.mark.parametrize(
    ("orig", "code", "words", "transient"),
    [
        (sqlite_error(sqlite3.SQLITE_FULL, "database or disk is full"), "disk_full", "disk", False),
        (sqlite_error(sqlite3.SQLITE_BUSY, "database is locked"), "busy", "busy", True),
        (sqlite_error(sqlite3.SQLITE_READONLY | (1 << 8), "attempt to write a readonly database"),
         "read_only", "written", False),
        (sqlite_error(sqlite3.SQLITE_IOERR | (4 << 8), "disk I/O error"), "io_error", "failed", False),
        (PgError("53100"), "disk_full", "disk is full", False),
        (PgError("25006"), "read_only", "read-only", False),
        (PgError("57P03"), "unavailable", "cannot take", True),
        (OSError(28, "No space left on device"), "disk_full", "disk is full", False),
    ],
)
def test_each_database_error_is_named_for_what_it_is(orig, code, words, transient):
    trouble = storage.describe(sa.exc.OperationalError("INSERT", {}, orig))
    assert (trouble.code, trouble.transient) == (code, transient)
    assert words in trouble.message
    if code != "busy":
        assert "busy" not in trouble.message


@sqlite_only
def test_a_full_disk_is_a_503_that_says_so(tmp_path, database_url, build, people):
    teacher = people["teacher"]
    app = build_full_app(tmp_path, database_url)
    try:
        body = {"code": "BIG", "title": "x" * 200}
        response = app.test_client().post("/api/v1/courses", json=body, headers=teacher.headers)
        for _ in range(200):  # until the file would have to grow
            if response.status_code != 201:
                break
            body = {"code": f"C{_}", "title": "x" * 200}
            response = app.test_client().post("/api/v1/courses", json=body, headers=teacher.headers)
        assert response.status_code == 503, response.get_json()
        error = response.get_json()["error"]
        assert error["code"] == "disk_full"
        assert "disk" in error["message"] and "full" in error["message"]
        assert "busy" not in error["message"] and "Retry-After" not in response.headers
    finally:
        db.database(app).dispose()


def build_full_app(tmp_path: Path, database_url: str) -> Any:
    def no_more_pages(dbapi_connection: Any, record: Any) -> None:
        dbapi_connection.execute("PRAGMA max_page_count = 1")

    app = create_app({"TESTING": True, "DATABASE_URL": database_url, "SECRET_KEY": "test secret",
                      "INSTANCE_PATH": str(tmp_path / "full")})
    engine = db.database(app).engine
    engine.dispose()
    sa.event.listen(engine, "connect", no_more_pages)
    return app


@pytest.fixture
def read_only_folder() -> Iterator[Path]:
    folder = Path(tempfile.mkdtemp(prefix="grader-ro-"))
    folder.chmod(0o555)
    yield folder
    folder.chmod(0o755)
    for child in folder.iterdir():
        child.unlink()
    folder.rmdir()


def run_grader(args: list[str], folder: Path) -> subprocess.CompletedProcess[str]:
    """The command on a folder it may not write: read-only for its user, or mounted read-only for root."""
    env = {**os.environ, "GRADER_INSTANCE_PATH": str(folder), "GRADER_SECRET_KEY": ""}
    env.pop("GRADER_DATABASE_URL", None)
    command = [sys.executable, "-m", "grader.cli", *args]
    if os.geteuid() == 0:  # root writes through mode bits: a read-only bind mount of its own
        if shutil.which("unshare") is None:
            pytest.skip("needs unshare(1) to make a read-only folder for root")
        remount = 'mount --bind "$0" "$0" && mount -o remount,bind,ro "$0" && exec "$@"'
        command = ["unshare", "--mount", "sh", "-c", remount, str(folder), *command]
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("args", [["db", "upgrade"], ["serve", "--port", "0"],
                                  ["user", "add", "ines", "--role", "student"]])
def test_a_read_only_folder_is_named_in_one_line(read_only_folder, args):
    done = run_grader(args, read_only_folder)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert str(read_only_folder) in lines[0], lines[0]
    assert "Read-only file system" in lines[0] or "Permission denied" in lines[0], lines[0]
    assert "serve on" not in lines[0]  # not the address's fault


@sqlite_only
def test_the_database_and_its_wal_are_private(tmp_path):
    url = f"sqlite:///{tmp_path / 'new' / 'grader.sqlite'}"
    previous = os.umask(0o022)
    try:
        db.upgrade_database(url)
        engine = db.make_engine(url)
        with engine.connect() as connection:  # a reader keeps the WAL and shared memory open
            connection.execute(sa.text("SELECT 1"))
            files = [tmp_path / "new" / name for name in ("grader.sqlite", "grader.sqlite-wal",
                                                          "grader.sqlite-shm")]
            assert files[0].exists()
            for path in files:
                if path.exists():
                    assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
        engine.dispose()
        assert stat.S_IMODE((tmp_path / "new").stat().st_mode) == 0o700
    finally:
        os.umask(previous)
