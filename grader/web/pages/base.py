"""The pages' blueprint, who may see what, and error pages that say what went wrong."""

from __future__ import annotations

import logging
from typing import Any, NoReturn

import sqlalchemy as sa
from flask import Blueprint, Response, abort, g, redirect, render_template, request, url_for
from flask_wtf.csrf import CSRFError
from markupsafe import Markup
from werkzeug.exceptions import HTTPException

from grader.judge import labels
from grader.service.db import get_session
from grader.service.models import User
from grader.web.api import access
from grader.web.errors import ApiError, rollback
from grader.web.mathml import formula_box

log = logging.getLogger(__name__)

bp = Blueprint("pages", __name__)

HEADINGS = {
    400: "That request could not be used",
    401: "Please log in",
    403: "Not allowed",
    404: "Not found",
    405: "Not allowed that way",
    409: "That clashes with what is there",
    413: "Too large",
    422: "That could not be used",
    429: "Slow down",
}


class LoginRequired(Exception):
    """Raised by a page that needs a user; answered with a redirect to the login form."""


def page_user() -> User:
    """The logged-in user of a page, or a redirect to the login form."""
    user = g.get("user")
    if user is None or g.get("auth") != "session":
        raise LoginRequired
    return user


def page_instructor() -> User:
    user = page_user()
    if not user.is_instructor:
        abort(403, "This page is for instructors.")
    g.seen_as = "instructor"
    return user


def page_student() -> User:
    """The user of a student page: any account enrolled as a student in some course, as roles
    are per course (a student account in none sees its empty dashboard). Which items and
    derivations it answers, its role in their course decides (``student_item``)."""
    user = page_user()
    g.takes_courses = not access.instructs_only(get_session(), user)  # the navigation's too
    if not g.takes_courses:
        abort(403, "This page is for students; instructors see their courses on the start page.")
    g.seen_as = "student"  # the header's role: an instructor account here answers as a student
    return user


@bp.app_template_global("takes_courses")
def takes_courses() -> bool:
    """Whether the logged-in instructor account is also enrolled as a student somewhere (the
    navigation then leads to its dashboard too). Asked once a request; False if it cannot be
    told, as on an error page after the database failed."""
    if "takes_courses" not in g:
        user = g.get("user")
        try:
            g.takes_courses = user is not None and not access.instructs_only(get_session(), user)
        except sa.exc.SQLAlchemyError:
            rollback()
            g.takes_courses = False
    return g.takes_courses


@bp.app_template_global("dashboard_url")
def dashboard_url() -> str:
    """Where the student pages' "Dashboard" leads: the start page of a student account; the
    dashboard's own address for an instructor account, whose start page is its courses."""
    user = g.get("user")
    return url_for("pages.student_dashboard" if user is not None and user.is_instructor else "pages.index")


def not_found(what: str) -> NoReturn:
    abort(404, f"{what} does not exist, or is not yours to see.")


def taught_here(what: str) -> NoReturn:
    """A student page asked for work of a course the user teaches: they see it as its instructor."""
    abort(403, f"{what} is in a course you teach: its students answer it here, and you see their "
               "answers from the course page.")


@bp.app_template_filter("sentence")
def sentence(text: str) -> str:
    """The first letter upper case, the rest as it is (Jinja's ``capitalize`` lowers it)."""
    return text[:1].upper() + text[1:]


@bp.app_template_filter("points")
def points(value: float) -> str:
    """Points as people write them: 4.42, 3, 2.5 (at most two decimals)."""
    return f"{value:.2f}".rstrip("0").rstrip(".")


@bp.app_template_filter("as_rows")
def as_rows(value: Any) -> list[list[str]] | None:
    """A number, vector or matrix from a verdict as rows of text for the matrix macro; None
    for deeper nesting. NaN and infinities come written out ("NaN", "inf"); a null is one
    that JSON could not carry in a verdict stored before they were."""
    rows = value if isinstance(value, list) and value and isinstance(value[0], list) else [value]
    rows = [row if isinstance(row, list) else [row] for row in rows]
    if any(isinstance(cell, list) for row in rows for cell in row):
        return None
    return [[_cell(cell) for cell in row] for row in rows]


def _cell(value: Any) -> str:
    if value is None:
        return "NaN/inf"
    if isinstance(value, float):
        return f"{value + 0.0:.6g}"  # + 0.0: no "-0"
    return str(value)


@bp.app_template_filter("code_label")
def code_label(code: str) -> str:
    """A feedback code in plain words ("transpose" -> "rows and columns swapped")."""
    return labels.label(code)


@bp.app_template_filter("formula_box")
def formula_box_filter(latex: str, name: str) -> Markup:
    """One LaTeX formula (a verdict's read_as_latex) as MathML, rendered on the server, in a box
    that scrolls sideways when the formula is wider than the page, named ``name`` then."""
    return formula_box(latex, name)


def error_page(status: int, message: str) -> tuple[str, int]:
    heading = HEADINGS.get(status, "Something went wrong")
    return render_template("error.html", heading=heading, message=message), status


@bp.errorhandler(LoginRequired)
def _login_required(error: LoginRequired) -> Response:
    target = request.full_path.rstrip("?") if request.method == "GET" else None
    return redirect(url_for("pages.login", next=target))  # type: ignore[return-value]


@bp.errorhandler(CSRFError)
def _csrf_error(error: CSRFError) -> tuple[str, int]:
    return error_page(
        400, "The form had expired or was not sent from this site. Reload the page and try again."
    )


@bp.errorhandler(ApiError)
def _api_error(error: ApiError) -> Response | tuple[str, int]:
    if error.status == 401:
        return _login_required(LoginRequired())
    return error_page(error.status, error.message)


@bp.errorhandler(HTTPException)
def _http_error(error: HTTPException) -> tuple[str, int]:
    return error_page(error.code or 500, error.description or "")


@bp.errorhandler(Exception)
def _unexpected(error: Exception) -> tuple[str, int]:
    rollback()
    log.exception("unexpected error on %s %s", request.method, request.path)
    return error_page(500, "The server failed and nothing was changed. Try again in a moment.")
