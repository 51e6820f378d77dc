"""Who am I, and cookie sessions for the pages (login and logout as JSON)."""

from __future__ import annotations

from flask import g
from flask_wtf.csrf import generate_csrf
from spectree import Response

from grader.service import accounts
from grader.service.db import get_session
from grader.web.api import bp
from grader.web.api.present import user_out
from grader.web.api.schemas import ErrorOut, LoginIn, SessionOut, UserOut
from grader.web.api.spec import spec
from grader.web.auth import current_user, login_user, logout_user
from grader.web.errors import ApiError
from grader.web.limits import login_per_account, login_per_address

NO_AUTH: dict = {}


@bp.get("/me")
@spec.validate(resp=Response(HTTP_200=UserOut, HTTP_401=ErrorOut), tags=["accounts"])
def me() -> UserOut:
    """The caller."""
    return user_out(current_user())


@bp.get("/session")
@spec.validate(resp=Response(HTTP_200=SessionOut), security=NO_AUTH, tags=["accounts"])
def session_state() -> SessionOut:
    """The logged-in user (if any) and a CSRF token for cookie-authenticated posts."""
    user = g.get("user")
    return SessionOut(user=user_out(user) if user else None, csrf_token=generate_csrf())


@bp.post("/session")
@login_per_account
@login_per_address
@spec.validate(
    json=LoginIn,
    resp=Response(
        HTTP_200=SessionOut, HTTP_400=ErrorOut, HTTP_401=ErrorOut, HTTP_422=ErrorOut,
        HTTP_429=ErrorOut,
    ),
    security=NO_AUTH,
    tags=["accounts"],
)
def login(json: LoginIn) -> SessionOut:
    """Log in with a name and password: a session cookie (needs the CSRF token)."""
    user = accounts.authenticate(get_session(), json.name, json.password)
    if user is None:
        raise ApiError(401, "bad_login", "the name or the password is wrong")
    login_user(user)
    return SessionOut(user=user_out(user), csrf_token=generate_csrf())


@bp.delete("/session")
@spec.validate(resp=Response("HTTP_204", HTTP_400=ErrorOut), security=NO_AUTH, tags=["accounts"])
def logout() -> tuple[str, int]:
    """Log out (end the cookie session)."""
    logout_user()
    return "", 204
