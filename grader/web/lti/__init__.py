"""The LTI 1.3 tool's pages: login initiation, launch, deep linking, the key set, and the
instructors' pages for platforms, connected courses, the scores waiting for the LMS and the
students' join requests."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy.orm as so
from flask import Blueprint, Flask, Response, redirect, request, url_for

from grader.service.db import database
from grader.service.lti.launch import LaunchRefused
from grader.web.pages.base import LoginRequired, error_page

bp = Blueprint("lti", __name__)


@contextmanager
def writing() -> Iterator[so.Session]:
    """A write transaction of its own (GET requests' sessions only read)."""
    with database().sessionmaker.begin() as session:
        yield session


@bp.errorhandler(LaunchRefused)
def _refused(error: LaunchRefused) -> tuple[str, int]:
    return error_page(error.status, error.message)


@bp.errorhandler(LoginRequired)
def _login_required(error: LoginRequired) -> Response:
    target = request.full_path.rstrip("?") if request.method == "GET" else None
    return redirect(url_for("pages.login", next=target))  # type: ignore[return-value]


def init_app(app: Flask) -> None:
    from grader.web.lti import launch, linking, manage, requests  # noqa: F401  (each adds routes to bp)

    app.register_blueprint(bp)
