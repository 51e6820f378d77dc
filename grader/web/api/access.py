"""Who may see what: a student their own work, an instructor their own courses'.

Anything a caller may not see answers 404, as if it did not exist; a student who
may see a course but asks for an instructor's view of it gets 403. What a viewer
sees of a course's work follows their role in that course, not their account's:
an instructor account enrolled as a student sees there what a student sees.
"""

from __future__ import annotations

from typing import TypeVar

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask import g

from grader.service.db import get_session
from grader.service.models import Assignment, Course, Enrolment, Item, PracticeSet, User
from grader.web.api.schemas import MAX_ID
from grader.web.errors import forbidden, not_found

T = TypeVar("T")


def load(session: so.Session, model: type[T], id: int, what: str) -> T:
    """The row, or a 404 (ids beyond what a database holds included)."""
    row = session.get(model, id) if 1 <= id <= MAX_ID else None
    if row is None:
        raise not_found(f"{what} {id}")
    return row


def course_role(session: so.Session, user_id: int, course_id: int) -> str | None:
    return session.scalar(
        sa.select(Enrolment.role).where(
            Enrolment.course_id == course_id, Enrolment.user_id == user_id
        )
    )


def teaches(viewer: User, assignment: Assignment | None) -> bool:
    """Whether ``viewer`` sees this work as an instructor: their role in its course decides.

    Practice belongs to no course: its owner sees it as ``/check`` shows answers, with
    the expected values only for an instructor account that takes no course. Looked up
    once per request and course.
    """
    roles = g.setdefault("course_roles", {})
    key = (viewer.id, assignment.course_id if assignment is not None else None)
    if key not in roles:
        if assignment is None:
            roles[key] = instructs_only(get_session(), viewer)
        else:
            session = so.object_session(assignment)
            roles[key] = session is not None and (
                course_role(session, viewer.id, assignment.course_id) == "instructor"
            )
    return roles[key]


def instructs_only(session: so.Session, user: User) -> bool:
    """An instructor account that is a student in no course (``/check`` shows it expected values)."""
    if not user.is_instructor:
        return False
    as_student = session.scalar(
        sa.select(Enrolment.id).where(Enrolment.user_id == user.id, Enrolment.role == "student").limit(1)
    )
    return as_student is None


def member_course(session: so.Session, user: User, course_id: int) -> tuple[Course, str]:
    """A course the user is in, and their role in it."""
    course = load(session, Course, course_id, "course")
    role = course_role(session, user.id, course.id)
    if role is None:
        raise not_found(f"course {course_id}")
    return course, role


def instructed_course(session: so.Session, user: User, course_id: int) -> Course:
    course, role = member_course(session, user, course_id)
    if role != "instructor":
        raise forbidden("only the course's instructors may do this")
    return course


def instructed_assignment(user: User, assignment_id: int) -> Assignment:
    """An assignment of a course the user teaches."""
    session = get_session()
    assignment = load(session, Assignment, assignment_id, "assignment")
    instructed_course(session, user, assignment.course_id)
    return assignment


# built once (it runs on most item views): the item, its parent, the caller's role
ITEM_WITH_ROLE = (
    sa.select(Item, Enrolment.role)
    .outerjoin(Assignment, Assignment.id == Item.assignment_id)
    .outerjoin(PracticeSet, PracticeSet.id == Item.practice_set_id)
    .outerjoin(
        Enrolment,
        sa.and_(
            Enrolment.course_id == Assignment.course_id,
            Enrolment.user_id == sa.bindparam("user_id"),
        ),
    )
    .options(so.contains_eager(Item.assignment), so.contains_eager(Item.practice_set))
    .where(Item.id == sa.bindparam("item_id"))
)


def member_item(session: so.Session, user: User, item_id: int) -> tuple[Item, str]:
    """An item the user may answer: their own practice item, or one of their course's."""
    row = None
    if 1 <= item_id <= MAX_ID:
        row = session.execute(ITEM_WITH_ROLE, {"item_id": item_id, "user_id": user.id}).first()
    if row is None:
        raise not_found(f"item {item_id}")
    item, role = row
    if item.practice_set is not None:
        if item.practice_set.user_id != user.id:
            raise not_found(f"item {item_id}")
        return item, "student"
    if role is None:
        raise not_found(f"item {item_id}")
    # known now: what is shown of this item's work needs no second look (see teaches)
    g.setdefault("course_roles", {})[(user.id, item.assignment.course_id)] = role == "instructor"
    return item, role


def instructed_item(session: so.Session, user: User, item_id: int) -> Item:
    """An assignment item of a course the user teaches."""
    item, role = member_item(session, user, item_id)
    if item.assignment is None:
        raise not_found(f"item {item_id}")
    if role != "instructor":
        raise forbidden("only the course's instructors may do this")
    return item
