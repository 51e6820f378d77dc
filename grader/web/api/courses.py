"""Courses and enrolments."""

from __future__ import annotations

import sqlalchemy as sa
from spectree import Response

from grader.service.db import get_session
from grader.service.lti.models import AccountMerge
from grader.service.models import Course, Enrolment, User
from grader.web.api import bp
from grader.web.api.access import instructed_course, member_course
from grader.web.api.present import user_out
from grader.web.api.schemas import (
    CourseIn,
    CourseOut,
    CoursesOut,
    EnrolmentIn,
    EnrolmentOut,
    EnrolmentsOut,
    ErrorOut,
)
from grader.web.api.spec import spec
from grader.web.auth import current_instructor, current_user
from grader.web.errors import ApiError, not_found

READ_ERRORS = {"HTTP_401": ErrorOut, "HTTP_403": ErrorOut, "HTTP_404": ErrorOut}
WRITE_ERRORS = {**READ_ERRORS, "HTTP_409": ErrorOut, "HTTP_422": ErrorOut}


def course_out(course: Course, role: str) -> CourseOut:
    return CourseOut(id=course.id, code=course.code, title=course.title, role=role)


@bp.get("/courses")
@spec.validate(resp=Response(HTTP_200=CoursesOut, HTTP_401=ErrorOut), tags=["courses"])
def list_courses() -> CoursesOut:
    """The caller's courses."""
    user = current_user()
    rows = get_session().execute(
        sa.select(Course, Enrolment.role)
        .join(Enrolment, Enrolment.course_id == Course.id)
        .where(Enrolment.user_id == user.id)
        .order_by(Course.code)
    )
    return CoursesOut(courses=[course_out(course, role) for course, role in rows])


@bp.post("/courses")
@spec.validate(json=CourseIn, resp=Response(HTTP_201=CourseOut, **WRITE_ERRORS), tags=["courses"])
def create_course(json: CourseIn) -> tuple[CourseOut, int]:
    """A new course, taught by the caller (an instructor)."""
    user = current_instructor()
    session = get_session()
    if session.scalar(sa.select(Course.id).where(Course.code == json.code)) is not None:
        raise ApiError(409, "conflict", f"a course with the code {json.code!r} exists")
    course = Course(code=json.code, title=json.title)
    session.add(course)
    session.flush()
    session.add(Enrolment(course_id=course.id, user_id=user.id, role="instructor"))
    session.commit()
    return course_out(course, "instructor"), 201


@bp.get("/courses/<int:course_id>")
@spec.validate(resp=Response(HTTP_200=CourseOut, **READ_ERRORS), tags=["courses"])
def get_course(course_id: int) -> CourseOut:
    course, role = member_course(get_session(), current_user(), course_id)
    return course_out(course, role)


@bp.get("/courses/<int:course_id>/enrolments")
@spec.validate(resp=Response(HTTP_200=EnrolmentsOut, **READ_ERRORS), tags=["courses"])
def list_enrolments(course_id: int) -> EnrolmentsOut:
    """Who is in the course (instructors only)."""
    session = get_session()
    course = instructed_course(session, current_user(), course_id)
    return EnrolmentsOut(
        enrolments=[
            EnrolmentOut(user=user_out(e.user), role=e.role, section=e.section)
            for e in sorted(course.enrolments, key=lambda e: (e.role, e.user.name))
        ]
    )


@bp.post("/courses/<int:course_id>/enrolments")
@spec.validate(
    json=EnrolmentIn, resp=Response(HTTP_201=EnrolmentOut, **WRITE_ERRORS), tags=["courses"]
)
def enrol(course_id: int, json: EnrolmentIn) -> tuple[EnrolmentOut, int]:
    """Put a user into the course as a student (with a section) or an instructor."""
    session = get_session()
    course = instructed_course(session, current_user(), course_id)
    user = session.scalar(sa.select(User).where(User.name == json.user))
    if user is None:
        raise not_found(f"user {json.user!r}")
    if json.role == "instructor" and not user.is_instructor:
        raise ApiError(422, "invalid", f"{user.name} is a student and cannot teach a course")
    joined_into = session.scalar(
        sa.select(User.name).join(AccountMerge, AccountMerge.into_user_id == User.id)
        .where(AccountMerge.from_user_id == user.id)
    )
    if joined_into is not None:  # enrolled, the answers a join set apart on it would count again
        raise ApiError(409, "conflict", f"{user.name} was joined into {joined_into} and is closed: "
                       f"enrol {joined_into}")
    exists = session.scalar(
        sa.select(Enrolment.id).where(Enrolment.course_id == course.id, Enrolment.user_id == user.id)
    )
    if exists is not None:
        raise ApiError(409, "conflict", f"{user.name} is already in {course.code}")
    session.add(Enrolment(course_id=course.id, user_id=user.id, role=json.role, section=json.section))
    session.commit()
    return EnrolmentOut(user=user_out(user), role=json.role, section=json.section), 201
