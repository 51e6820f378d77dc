"""Who is calling: a bearer token (the API) or the session cookie (the pages).

``load_user`` runs before every request and sets ``g.user`` (or None) and
``g.auth`` ("token", "session" or None). Both are checked against the database on
every request: a revoked or expired token, or a cookie from before a logout (the
user's session version has moved on), is refused at once in every process.

Requests that change something and are not authenticated by a bearer token must
carry a CSRF token: a browser sends cookies on its own, never an Authorization header.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import sqlalchemy as sa
from flask import Flask, current_app, g, request, session
from flask_wtf.csrf import CSRFProtect

from grader.service import tokens
from grader.service.db import database, get_session, read_only_transaction
from grader.service.models import User
from grader.web.errors import ApiError, forbidden

csrf = CSRFProtect()
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
API_PREFIX = "/api/"
SESSION_PATH = "/api/v1/session"  # cookie login: the one API write that needs no credentials
SESSION_USER_KEY = "user_id"
SESSION_VERSION_KEY = "session_version"


def load_user() -> None:
    g.user = None
    g.auth = None
    g.auth_error = None
    header = request.headers.get("Authorization")
    if header is not None:
        scheme, _, token = header.partition(" ")
        user: User | None = None
        token = token.strip()
        if scheme.lower() == "bearer" and token:
            # a detached snapshot: the views read its columns only, with no session to pay for
            with database().read_engine.connect() as connection:
                user = tokens.user_for(connection, token)
        if user is None:
            g.auth_error = "the bearer token is not valid (unknown, revoked or expired)"
        else:
            g.user, g.auth = user, "token"
        return
    user_id = session.get(SESSION_USER_KEY)
    if isinstance(user_id, int):
        with read_only_transaction(get_session()) as db_session:
            user = db_session.get(User, user_id)
        if user is not None and user.session_version == session.get(SESSION_VERSION_KEY):
            g.user, g.auth = user, "session"


F = TypeVar("F", bound=Callable[..., Any])


def csrf_exempt(view: F) -> F:
    """A view whose cross-site form posts carry their own proof (LTI: a signed id_token
    and a one-time state), which no CSRF token could: the platform's page sends them."""
    view.csrf_exempt = True  # type: ignore[attr-defined]
    return view


def protect_from_csrf() -> None:
    if request.routing_exception is not None:  # a 404 or 405 says more than a CSRF error
        return
    if getattr(current_app.view_functions.get(request.endpoint or ""), "csrf_exempt", False):
        return
    # no credentials, or a bad token, on the API: "log in" says more than "CSRF token missing"
    logging_in = request.path == SESSION_PATH
    if request.path.startswith(API_PREFIX) and g.get("user") is None and not logging_in:
        current_user()
    if request.method not in SAFE_METHODS and g.get("auth") != "token":
        csrf.protect()


def current_user() -> User:
    """The authenticated user, or a 401."""
    user = g.get("user")
    if user is None:
        raise ApiError(
            401,
            "unauthorized",
            g.get("auth_error")
            or "log in first: send the header 'Authorization: Bearer TOKEN' "
            "(`grader user add` prints a token)",
        )
    return user


def current_instructor() -> User:
    """The authenticated instructor, or a 401/403."""
    user = current_user()
    if not user.is_instructor:
        raise forbidden("only instructors may do this")
    return user


def login_user(user: User) -> None:
    """Start a cookie session for ``user`` (a fresh one: no fixation)."""
    session.clear()
    session[SESSION_USER_KEY] = user.id
    session[SESSION_VERSION_KEY] = user.session_version
    session.permanent = True
    g.user, g.auth = user, "session"


def logout_user() -> None:
    """End the cookie session here and on the server: every cookie of the user stops working.

    A signed cookie cannot be taken back from the browser, so the user's session
    version moves on and cookies issued under the old one are refused from now on
    (a logout ends the user's sessions on every device).
    """
    if g.get("auth") == "session":
        db_session = get_session()
        db_session.execute(
            sa.update(User)
            .where(User.id == g.user.id)
            .values(session_version=User.session_version + 1)
        )
        db_session.commit()
    session.clear()
    g.user, g.auth = None, None


def init_app(app: Flask) -> None:
    # forms are checked by protect_from_csrf, which knows about bearer tokens
    app.config.setdefault("WTF_CSRF_CHECK_DEFAULT", False)
    csrf.init_app(app)
    app.before_request(load_user)
    app.before_request(protect_from_csrf)
