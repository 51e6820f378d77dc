"""The start page: a student's dashboard, or an instructor's courses (and those they take)."""

from __future__ import annotations

from grader.web.pages.base import bp, page_user
from grader.web.pages.instructor import courses_page
from grader.web.pages.student import dashboard, taken_courses


@bp.get("/")
def index() -> str:
    user = page_user()
    if not user.is_instructor:
        return dashboard(user)
    # roles are per course: an instructor account may be a student in another course
    return courses_page(user, taking=taken_courses(user))
