"""Where the service keeps its files, and what went wrong with them, said as it is.

A database error is named for what it is (a full disk, a read-only file or
folder, a busy writer, a server away) so that an operator reads the true reason,
in one line, rather than "the database is busy". The SQLite file is created
readable by its owner only: it holds password hashes and every answer, and
SQLite gives its WAL and shared-memory files the database file's permissions.
"""

from __future__ import annotations

import errno
import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

PRIVATE_FILE_MODE = 0o600
PRIVATE_FOLDER_MODE = 0o700
# PostgreSQL's SQLSTATE classes and codes that say what an operator must fix
PG_DISK_FULL = "53100"
PG_OUT_OF_MEMORY = "53200"
PG_TOO_MANY_CONNECTIONS = "53300"
PG_READ_ONLY = "25006"
PG_STARTING_OR_STOPPING = ("57P01", "57P02", "57P03")


@dataclass(frozen=True)
class Trouble:
    """What is wrong with the database: a stable code, a line for an operator, whether to retry."""

    code: str
    message: str
    transient: bool


def sqlite_path(url: str) -> Path | None:
    """The file of an SQLite URL (None for another database or an in-memory one)."""
    parsed = sa.make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database)


def create_private_sqlite_file(url: str) -> None:
    """Create the SQLite file (and the folder it is in) for the owner only, if it is not there."""
    path = sqlite_path(url)
    if path is None or path.exists():
        return
    path.parent.mkdir(mode=PRIVATE_FOLDER_MODE, parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, PRIVATE_FILE_MODE)
    except FileExistsError:  # another process made it first
        return
    os.close(fd)  # an empty file is a valid, empty SQLite database


def describe(error: BaseException, url: str | None = None) -> Trouble:
    """The true reason behind a database error (SQLAlchemy's or the driver's)."""
    orig = getattr(error, "orig", None) or error
    if isinstance(orig, sqlite3.Error):
        return _sqlite_trouble(orig, sqlite_path(url) if url else None)
    state = getattr(orig, "sqlstate", None)
    if state == PG_DISK_FULL:
        return Trouble("disk_full", "the database server's disk is full", False)
    if state == PG_READ_ONLY:
        return Trouble("read_only", "the database is read-only", False)
    if state in (PG_OUT_OF_MEMORY, PG_TOO_MANY_CONNECTIONS) or state in PG_STARTING_OR_STOPPING:
        return Trouble("unavailable", f"the database server cannot take this now ({_first_line(orig)})",
                       True)
    if isinstance(orig, OSError):
        return _os_trouble(orig)
    return Trouble("unavailable", f"the database is unavailable ({_first_line(orig)})", True)


def _sqlite_trouble(error: sqlite3.Error, path: Path | None) -> Trouble:
    # the primary result code is the low byte of the extended one
    code = (getattr(error, "sqlite_errorcode", 0) or 0) & 0xFF
    if code == sqlite3.SQLITE_FULL:
        return Trouble("disk_full", "the disk holding the database is full", False)
    if code in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
        return Trouble("busy", "the database is busy", True)
    if code in (sqlite3.SQLITE_READONLY, sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_PERM):
        return Trouble("read_only", _unwritable(path, _first_line(error)), False)
    if code == sqlite3.SQLITE_IOERR:
        return Trouble("io_error", f"the disk holding the database failed: {_first_line(error)}", False)
    if isinstance(error, sqlite3.OperationalError) and "locked" in str(error):
        return Trouble("busy", "the database is busy", True)
    return Trouble("unavailable", f"the database is unavailable ({_first_line(error)})", True)


def _unwritable(path: Path | None, detail: str) -> str:
    if path is not None:
        folder = path.parent
        if not folder.exists():
            return f"the folder {str(folder)!r} of the database does not exist and cannot be made"
        if not os.access(folder, os.W_OK):
            return f"the folder {str(folder)!r} of the database is not writable ({detail})"
        if path.exists() and not os.access(path, os.W_OK):
            return f"the database file {str(path)!r} is read-only ({detail})"
    return f"the database cannot be written ({detail})"


def _os_trouble(error: OSError) -> Trouble:
    where = f" {str(error.filename)!r}" if error.filename else ""
    if error.errno == errno.ENOSPC:
        return Trouble("disk_full", f"the disk is full (writing{where})", False)
    if error.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return Trouble("read_only", f"cannot write{where}: {error.strerror}", False)
    return Trouble("unavailable", f"cannot use{where}: {error.strerror or error}", False)


def describe_os_error(error: OSError) -> str:
    """An operating system's refusal to write one of the service's files, in one line."""
    return _os_trouble(error).message


def _first_line(error: BaseException) -> str:
    text = str(error).strip() or type(error).__name__
    return text.splitlines()[0][:200]
