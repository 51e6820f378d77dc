"""Assignments: instructors create and edit them; students see their own instances."""

from __future__ import annotations

import sqlalchemy as sa
import sqlalchemy.orm as so
from spectree import Response

import exercises
from exercises import InstanceError
from grader.service import extensions, gradebook, variants
from grader.service.db import get_session
from grader.service.models import Assignment, Item, User
from grader.web.api import bp
from grader.web.api.access import instructed_course, load, member_course
from grader.web.api.own_dates import own_assignment, own_item
from grader.web.api.present import assignment_out, item_out
from grader.web.api.schemas import (
    AssignmentIn,
    AssignmentOut,
    AssignmentPatch,
    AssignmentsOut,
    ErrorOut,
    ItemSpec,
)
from grader.web.api.spec import spec
from grader.web.auth import current_user
from grader.web.errors import ApiError, invalid, not_found

READ_ERRORS = {"HTTP_401": ErrorOut, "HTTP_403": ErrorOut, "HTTP_404": ErrorOut}
WRITE_ERRORS = {**READ_ERRORS, "HTTP_409": ErrorOut, "HTTP_422": ErrorOut}


def check_item(spec_: ItemSpec, position: int) -> None:
    """An item an instance can be drawn for, or a 422 that names it."""
    try:
        exercise = exercises.get(spec_.kind)
        if spec_.layout not in exercise.layouts:
            raise InstanceError(
                f"layout {spec_.layout!r} is not offered for {spec_.kind}: "
                f"use {' or '.join(exercise.layouts)}"
            )
        variants.draw(Item(kind=spec_.kind, n=spec_.n, K=spec_.K, layout=spec_.layout), 0)
    except InstanceError as error:
        raise invalid(f"items.{position}: {error}") from None


def title_taken(session: so.Session, course_id: int, title: str, but: int | None = None) -> bool:
    """Whether the course has an assignment of this title (``but`` that one, when editing it)."""
    query = sa.select(Assignment.id).where(
        Assignment.course_id == course_id, Assignment.title == title
    )
    if but is not None:
        query = query.where(Assignment.id != but)
    return session.scalar(query) is not None


@bp.post("/courses/<int:course_id>/assignments")
@spec.validate(
    json=AssignmentIn, resp=Response(HTTP_201=AssignmentOut, **WRITE_ERRORS), tags=["assignments"]
)
def create_assignment(course_id: int, json: AssignmentIn) -> tuple[AssignmentOut, int]:
    """A new assignment: its items, due date, score policy and feedback policy."""
    session = get_session()
    course = instructed_course(session, current_user(), course_id)
    for position, item in enumerate(json.items):
        check_item(item, position)
    if title_taken(session, course.id, json.title):
        raise ApiError(409, "conflict", f"{course.code} has an assignment named {json.title!r}")
    assignment = Assignment(
        course_id=course.id,
        title=json.title,
        due_at=json.due_at,
        score_policy=json.score_policy,
        feedback_before_due=json.feedback_before_due,
        seed=json.seed if json.seed is not None else variants.fresh_seed() >> 2,
    )
    assignment.items = [
        Item(position=position, **item.model_dump()) for position, item in enumerate(json.items)
    ]
    session.add(assignment)
    session.commit()
    return assignment_out(assignment), 201


@bp.get("/courses/<int:course_id>/assignments")
@spec.validate(resp=Response(HTTP_200=AssignmentsOut, **READ_ERRORS), tags=["assignments"])
def list_assignments(course_id: int) -> AssignmentsOut:
    """The course's assignments (for a student, with their own instances and standing)."""
    session = get_session()
    user = current_user()
    course, role = member_course(session, user, course_id)
    return AssignmentsOut(
        assignments=[view(session, a, user, role) for a in course.assignments]
    )


def view(session: so.Session, assignment: Assignment, user: User, role: str) -> AssignmentOut:
    if role == "instructor":
        return assignment_out(assignment)
    standing = gradebook.cells(session, [assignment], [user.id])
    allowed = extensions.allowances(session, assignment, [user.id])
    items = []
    for item in assignment.items:
        cell = standing[user.id, item.id]
        drawn = variants.drawn_for(session, item, user.id)
        out = item_out(item, drawn.instance, attempts_used=cell.attempts, score=cell.score,
                       draw_number=drawn.draw_number)
        items.append(own_item(out, allowed[user.id, item.id]))
    return own_assignment(session, assignment_out(assignment, items), assignment, user.id)


def member_assignment(
    session: so.Session, user: User, assignment_id: int
) -> tuple[Assignment, str]:
    assignment = load(session, Assignment, assignment_id, "assignment")
    try:
        _, role = member_course(session, user, assignment.course_id)
    except ApiError:
        raise not_found(f"assignment {assignment_id}") from None
    return assignment, role


@bp.get("/assignments/<int:assignment_id>")
@spec.validate(resp=Response(HTTP_200=AssignmentOut, **READ_ERRORS), tags=["assignments"])
def get_assignment(assignment_id: int) -> AssignmentOut:
    session = get_session()
    user = current_user()
    assignment, role = member_assignment(session, user, assignment_id)
    return view(session, assignment, user, role)


@bp.patch("/assignments/<int:assignment_id>")
@spec.validate(
    json=AssignmentPatch, resp=Response(HTTP_200=AssignmentOut, **WRITE_ERRORS), tags=["assignments"]
)
def edit_assignment(assignment_id: int, json: AssignmentPatch) -> AssignmentOut:
    """Change the title, due date (null: none), score policy or feedback policy."""
    session = get_session()
    user = current_user()
    assignment, role = member_assignment(session, user, assignment_id)
    if role != "instructor":
        raise ApiError(403, "forbidden", "only the course's instructors may do this")
    changes = json.model_dump(exclude_unset=True)
    for key in ("title", "score_policy", "feedback_before_due"):
        if key in changes and changes[key] is None:
            raise invalid(f"{key} cannot be null")
    title = changes.get("title")
    if title is not None and title_taken(session, assignment.course_id, title, assignment.id):
        raise ApiError(409, "conflict", f"the course has an assignment named {title!r}")
    for key, value in changes.items():
        setattr(assignment, key, value)
    session.commit()
    return assignment_out(assignment)
