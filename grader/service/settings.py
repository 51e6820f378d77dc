"""Settings read from the environment (``GRADER_*``); secrets never live in the repository."""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

#: where the SQLite database, the generated secret key and the demo logins live by default
DEFAULT_INSTANCE_PATH = Path(__file__).resolve().parents[2] / "instance"
DATABASE_FILE = "grader.sqlite"
SECRET_KEY_FILE = "secret_key"
SQLITE_BUSY_TIMEOUT_MS_DEFAULT = 10_000  # how long a writer waits for SQLite's write lock


class Settings(BaseSettings):
    """What an operator may set, e.g. ``GRADER_DATABASE_URL=postgresql+psycopg://...``."""

    model_config = SettingsConfigDict(env_prefix="GRADER_", extra="ignore")

    database_url: str | None = Field(
        default=None, description="SQLAlchemy URL; SQLite in the instance folder when unset"
    )
    secret_key: str | None = Field(
        default=None, description="signs session cookies; generated into the instance folder"
    )
    instance_path: Path | None = None
    secure_cookies: bool = Field(
        default=False, description="send the session cookie over HTTPS only (set it behind TLS)"
    )
    submissions_per_minute: int = Field(default=30, ge=1, description="per user, all items")
    sandbox_runs_per_minute: int = Field(
        default=20, ge=1, description="function answers run per user (/check and submissions)"
    )
    sandbox_runs_at_once: int | None = Field(
        default=None, ge=1, description="per user and process; half the sandbox pool when unset"
    )
    login_failures_per_account: str = Field(
        default="10 per 15 minutes", description="failed logins to one account, then refused"
    )
    login_failures_per_address: str = Field(
        default="50 per 15 minutes", description="failed logins from one address, then refused"
    )
    lti_logins_per_address: str = Field(
        default="600 per minute",
        description="LTI login starts from one address (each stores a state): a campus behind one "
        "address launching together stays well under it",
    )
    ratelimit_storage_uri: str = Field(
        default="",
        description="flask-limiter's storage: database:// (the service's own; the default on "
        "PostgreSQL and on SQLite served by several processes), memory:// (on SQLite served by "
        "one), redis://...",
    )
    job_lease_seconds: float = Field(default=120.0, gt=0)
    job_max_attempts: int = Field(default=3, ge=1)
    job_sweep_seconds: float = Field(default=10.0, gt=0)
    queue: Literal["local", "procrastinate"] = Field(
        default="local",
        description="local: each server process grades in its own sandbox pool; procrastinate: "
        "a task queue on the PostgreSQL database, graded by `grader worker` processes",
    )
    submit_wait_seconds: float = Field(
        default=5.0, ge=0, description="procrastinate: how long a submission waits for its verdict"
    )
    submit_waiters: int = Field(
        default=4, ge=0,
        description="procrastinate: submissions of one server process that wait for their verdict at "
        "once (half its threads); the others answer 202 at once, so a backlog never holds every thread",
    )
    grading_tries: int = Field(default=5, ge=2, description="procrastinate: tries before giving up")
    grading_retry_seconds: int = Field(
        default=2, ge=0, description="procrastinate: retries wait s, s², s³... seconds"
    )
    worker_heartbeat_seconds: float = Field(default=10.0, gt=0)
    worker_stalled_seconds: float = Field(
        default=30.0, gt=0, description="a worker silent this long is gone: its tasks run again"
    )
    sqlite_busy_timeout_ms: int = Field(
        default=SQLITE_BUSY_TIMEOUT_MS_DEFAULT, ge=0,
        description="how long a writer waits for SQLite's write lock",
    )


def instance_path(settings: Settings | None = None) -> Path:
    settings = settings or Settings()
    return settings.instance_path or DEFAULT_INSTANCE_PATH


def sqlite_url(folder: Path) -> str:
    return f"sqlite:///{folder / DATABASE_FILE}"


def database_url(settings: Settings | None = None) -> str:
    """The configured database, or the SQLite file in the instance folder."""
    settings = settings or Settings()
    return settings.database_url or sqlite_url(instance_path(settings))


def secret_key(folder: Path, settings: Settings | None = None) -> str:
    """The configured secret key, or one generated once and kept (mode 0600) in ``folder``."""
    settings = settings or Settings()
    if settings.secret_key:
        return settings.secret_key
    path = folder / SECRET_KEY_FILE
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    folder.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process wrote it first: use theirs
        return path.read_text().strip()
    with os.fdopen(fd, "w") as file:
        file.write(key)
    return key
