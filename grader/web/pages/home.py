"""The start page: a student's dashboard, or an instructor's courses."""

from __future__ import annotations

from grader.web.pages.base import bp, page_user
from grader.web.pages.instructor import courses_page
from grader.web.pages.student import dashboard


@bp.get("/")
def index() -> str:
    user = page_user()
    return courses_page(user) if user.is_instructor else dashboard(user)
