"""Rate limits (flask-limiter): failed logins, and the function answers one user may have run.

- Failed logins, on the form and on ``POST /api/v1/session`` alike, count per
  account and per address; past either limit a login is refused, the right
  password included, with a 429 that says when to try again.
- Function answers (``/check`` and submissions, API and pages alike) count per
  user per minute, and each user may have only ``SANDBOX_RUNS_AT_ONCE`` of them
  running at a time in a process, so no one user holds the whole sandbox pool.

Where the counts live (``RATELIMIT_STORAGE_URI``, from ``GRADER_RATELIMIT_STORAGE_URI``):
by default ``database://``, the service's own database (:class:`DatabaseStorage`), which
every process and machine of the server shares, so a limit holds across them; on SQLite
served by one process (``grader serve``'s default there), ``memory://``. Any of
flask-limiter's own storages (``redis://host:6379``...) may be named instead.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import Flask, Response, current_app, g, render_template, request
from flask_limiter import Limiter, RateLimitExceeded
from flask_limiter.util import get_remote_address

from grader.judge.answers.detect import detect_format
from grader.service import db
from grader.service.rate_limits import DatabaseStorage, counters_engine
from grader.web.errors import ApiError, error_response, wants_json

F = TypeVar("F", bound=Callable[..., Any])
FAILED_LOGIN_STATUS = 401
MAX_NAME = 64


def _user_key() -> str:
    user = g.get("user")
    return f"user:{user.id}" if user is not None else f"address:{get_remote_address()}"


# the standard Flask extension object, bound to each application by init_app
limiter = Limiter(key_func=_user_key)


def _body_field(name: str) -> str:
    if request.is_json:
        body = request.get_json(silent=True)
        value = body.get(name) if isinstance(body, dict) else None
    else:
        value = request.form.get(name)
    return value if isinstance(value, str) else ""


def _login_name_key() -> str:
    return "account:" + _body_field("name").strip()[:MAX_NAME]


def _failed_login(response: Response) -> bool:
    return response.status_code == FAILED_LOGIN_STATUS


def _runs_no_function() -> bool:
    """Whether the request grades no function answer (those alone run in the sandbox)."""
    chosen = _body_field("format")
    if chosen == "auto" or (not chosen and not request.is_json):  # the pages' "detect it"
        chosen = detect_format(_body_field("answer"))
    return chosen != "python"


def _config(key: str) -> Callable[[], str]:
    return lambda: current_app.config[key]


#: on both login views: failures of the form and of the API count together
login_per_account = limiter.shared_limit(
    _config("LOGIN_FAILURES_PER_ACCOUNT"),
    scope="login-account",
    key_func=_login_name_key,
    methods=["POST"],
    deduct_when=_failed_login,
    error_message="too many failed logins to this account",
)
login_per_address = limiter.shared_limit(
    _config("LOGIN_FAILURES_PER_ADDRESS"),
    scope="login-address",
    key_func=get_remote_address,  # behind a proxy, the operator applies werkzeug's ProxyFix
    methods=["POST"],
    deduct_when=_failed_login,
    error_message="too many failed logins from this address",
)
#: each login initiation stores a state and a nonce: a flood of them would fill the database
lti_logins_per_address = limiter.shared_limit(
    _config("LTI_LOGINS_PER_ADDRESS"),
    scope="lti-login-address",
    key_func=get_remote_address,
    error_message="too many LTI logins from this address",
)


def _ran(response: Response) -> bool:
    # a call refused (its item unknown, no attempt left, one already running...) ran nothing
    return response.status_code < 400


_runs_per_minute = limiter.shared_limit(
    _config("SANDBOX_RUNS_PER_MINUTE"),
    scope="sandbox-runs",
    exempt_when=_runs_no_function,
    methods=["POST"],
    deduct_when=_ran,
    error_message="too many function answers run",
)


class PoolShare:
    """How many function answers each user has running in this process, up to ``most``."""

    def __init__(self, most: int) -> None:
        self.most = most
        self._running: Counter[int] = Counter()
        self._lock = threading.Lock()

    def take(self, user_id: int) -> None:
        """Take one of the user's places for a run; ``ApiError`` 429 when all are taken."""
        with self._lock:
            if self._running[user_id] >= self.most:
                raise ApiError(
                    429,
                    "rate_limited",
                    f"you already have {self.most} function "
                    f"answer{'s' if self.most > 1 else ''} running: wait for the verdict, "
                    "then send the next",
                    {"Retry-After": "2"},
                )
            self._running[user_id] += 1

    def give_back(self, user_id: int) -> None:
        with self._lock:
            self._running[user_id] -= 1
            if self._running[user_id] <= 0:
                del self._running[user_id]


def runs_functions(view: F) -> F:
    """For a view that may run a function answer: the per-minute limit and the pool share."""

    @wraps(view)
    def held(*args: Any, **kwargs: Any) -> Any:
        user = g.get("user")
        if user is None or _runs_no_function():
            return view(*args, **kwargs)
        share: PoolShare = current_app.extensions["grader_pool_share"]
        try:
            share.take(user.id)
        except ApiError as busy:
            if wants_json():
                raise
            page = render_template("error.html", heading="Slow down", message=_sentence(busy.message))
            return page, 429, busy.headers
        try:
            return view(*args, **kwargs)
        finally:
            share.give_back(user.id)

    return _runs_per_minute(held)  # type: ignore[return-value]


def _retry_after() -> int:
    limit = limiter.current_limit
    if limit is None:
        return 60
    return max(1, int(limit.reset_at - time.time()) + 1)


def _in_words(seconds: int) -> str:
    if seconds < 90:
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    return f"{-(-seconds // 60)} minutes"


def _too_many(error: RateLimitExceeded) -> Response | tuple[str, int, dict[str, str]]:
    wait = _retry_after()
    message = f"{error.description}: try again in {_in_words(wait)}"
    headers = {"Retry-After": str(wait)}
    if wants_json():
        response = error_response(429, "rate_limited", message)
        response.headers.update(headers)
        return response
    if request.endpoint == "pages.login":
        name = request.form.get("name", "")[:MAX_NAME]
        page = render_template("login.html", error=_sentence(message), name=name)
        return page, 429, headers
    page = render_template("error.html", heading="Slow down", message=_sentence(message))
    return page, 429, headers


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:] + ("" if text.endswith(".") else ".")


def default_storage_uri(app: Flask) -> str:
    """Counters every process of the server shares (:class:`DatabaseStorage`); on SQLite
    served by one process (``grader serve``'s default there, ``SERVER_PROCESSES``), that
    process's memory, which costs no write to a file."""
    alone = db.database(app).engine.dialect.name == "sqlite" and app.config["SERVER_PROCESSES"] == 1
    return "memory://" if alone else "database://"


def init_app(app: Flask) -> None:
    """After auth.init_app: the per-user limits need ``g.user``."""
    if not app.config.get("RATELIMIT_STORAGE_URI"):
        app.config["RATELIMIT_STORAGE_URI"] = default_storage_uri(app)
    scheme = app.config["RATELIMIT_STORAGE_URI"].partition("://")[0]
    if scheme in DatabaseStorage.STORAGE_SCHEME:
        # the service's own database, which every process shares (see service.rate_limits)
        app.config["RATELIMIT_STORAGE_OPTIONS"] = {"engine": counters_engine(db.database(app))}
    app.config.setdefault("RATELIMIT_HEADERS_ENABLED", False)  # Retry-After is set on refusals
    limiter.init_app(app)
    app.extensions["grader_pool_share"] = PoolShare(app.config["SANDBOX_RUNS_AT_ONCE"])
    app.register_error_handler(RateLimitExceeded, _too_many)
