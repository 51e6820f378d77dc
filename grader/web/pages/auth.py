"""Logging in and out with a name and a password; the session cookie carries the user."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Response, flash, g, redirect, render_template, request, url_for

from grader.service import accounts
from grader.service.db import get_session
from grader.web.auth import login_user, logout_user
from grader.web.limits import login_per_account, login_per_address
from grader.web.pages.base import bp

MAX_NAME = 64
MAX_PASSWORD = 1024


def safe_next(target: str | None) -> str | None:
    """A path on this site to go back to after logging in; anything else is dropped."""
    if not target:
        return None
    parts = urlsplit(target)
    # browsers read "/\\host" as "//host": a backslash never belongs in our own paths
    if (
        parts.scheme
        or parts.netloc
        or not target.startswith("/")
        or "\\" in target
        or target.startswith("//")
    ):
        return None
    return target


@bp.route("/login", methods=["GET", "POST"])
@login_per_account
@login_per_address
def login() -> Response | str | tuple[str, int]:
    next_page = safe_next(request.values.get("next"))
    if request.method == "GET":
        if g.get("user") is not None and g.get("auth") == "session":
            return redirect(next_page or url_for("pages.index"))  # type: ignore[return-value]
        return render_template("login.html", next=next_page)
    name = request.form.get("name", "").strip()[:MAX_NAME]
    password = request.form.get("password", "")[:MAX_PASSWORD]
    user = accounts.authenticate(get_session(), name, password) if name and password else None
    if user is None:
        error = (
            "Enter your user name and your password."
            if not name or not password
            else "That user name and password do not match. Check them and try again."
        )
        return render_template("login.html", error=error, name=name, next=next_page), 401
    login_user(user)
    flash(f"Welcome, {user.display_name}.", "success")
    return redirect(next_page or url_for("pages.index"))  # type: ignore[return-value]


@bp.post("/logout")
def logout() -> Response:
    logout_user()
    flash("You are logged out.", "info")
    return redirect(url_for("pages.login"))  # type: ignore[return-value]
