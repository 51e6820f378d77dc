"""The web application: ``create_app`` registers the database, auth, errors and blueprints."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from flask import Flask
from flask.json.provider import DefaultJSONProvider

from grader.sandbox.pool import default_size
from grader.service import db, queue, settings

MAX_BODY_BYTES = 1024 * 1024  # an answer is a few kilobytes; a megabyte is plenty


class JSONProvider(DefaultJSONProvider):
    """Request bodies read by orjson (what it refuses, ``json`` still reads or explains)."""

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        return db.json_loads(s) if not kwargs else super().loads(s, **kwargs)


def default_config(config: settings.Settings) -> dict[str, Any]:
    folder = settings.instance_path(config)
    return {
        "DATABASE_URL": settings.database_url(config),
        "SECRET_KEY": None,  # filled from the instance folder below unless given
        "SQLITE_BUSY_TIMEOUT_MS": config.sqlite_busy_timeout_ms,
        "SUBMISSIONS_PER_MINUTE": config.submissions_per_minute,
        "SANDBOX_RUNS_PER_MINUTE": f"{config.sandbox_runs_per_minute} per minute",
        "SANDBOX_RUNS_AT_ONCE": config.sandbox_runs_at_once or max(1, default_size() // 2),
        "LOGIN_FAILURES_PER_ACCOUNT": config.login_failures_per_account,
        "LOGIN_FAILURES_PER_ADDRESS": config.login_failures_per_address,
        "LTI_LOGINS_PER_ADDRESS": config.lti_logins_per_address,
        "RATELIMIT_STORAGE_URI": config.ratelimit_storage_uri,
        "SERVER_PROCESSES": 1,  # those of ``grader serve`` (grader.server), which sets it
        "JOB_LEASE_SECONDS": config.job_lease_seconds,
        "JOB_MAX_ATTEMPTS": config.job_max_attempts,
        "JOB_SWEEP_SECONDS": config.job_sweep_seconds,
        "GRADING_QUEUE": config.queue,
        "SUBMIT_WAIT_SECONDS": config.submit_wait_seconds,
        "SUBMIT_WAITERS": config.submit_waiters,
        "WORKER_STALLED_SECONDS": config.worker_stalled_seconds,
        "MAX_CONTENT_LENGTH": MAX_BODY_BYTES,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": config.secure_cookies,
        "PERMANENT_SESSION_LIFETIME": timedelta(days=14),
        "INSTANCE_PATH": str(folder),
    }


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    """The application; ``test_config`` overrides the settings (tests, the demo, scripts)."""
    config = settings.Settings()
    values = default_config(config)
    values.update(test_config or {})
    app = Flask(__name__, instance_path=values["INSTANCE_PATH"])
    app.json = JSONProvider(app)
    app.config.from_mapping(values)
    if not app.config["SECRET_KEY"]:
        app.config["SECRET_KEY"] = settings.secret_key(
            settings.instance_path(config), config
        )

    # the schema is migrated by whoever starts the service (``grader serve``, ``grader db
    # upgrade``), never as a side effect of building the application
    db.init_app(app)
    queue.init_app(app)

    from grader.web import auth, errors, limits, security
    from grader.web import lti as lti_pages
    from grader.web.api import init_app as init_api
    from grader.web.pages import bp as pages

    errors.init_app(app)
    security.init_app(app)
    auth.init_app(app)
    limits.init_app(app)  # after auth: per-user limits need g.user
    app.register_blueprint(pages)  # first: its "/" takes over from the placeholder's
    init_api(app)
    lti_pages.init_app(app)
    return app
