"""What an instructor sees: courses, the gradebook, item statistics, timelines, assignments."""

from __future__ import annotations

import sqlalchemy as sa
from flask import render_template

from grader.db import get_session
from grader.models import Course, Enrolment, User
from grader.web.pages.base import bp  # noqa: F401


def courses_page(user: User) -> str:
    courses = get_session().scalars(
        sa.select(Course)
        .join(Enrolment)
        .where(Enrolment.user_id == user.id, Enrolment.role == "instructor")
        .order_by(Course.code)
    ).all()
    return render_template("instructor/courses.html", courses=courses)
