"""Derivations: instructors add them to an assignment; students answer their parts in order.

A practice set's derivation (see ``POST /practice``) is its student's alone, answered
here as an assignment's is; it is in no course, so no one else sees it.

Each part is an item of the assignment: ``POST /submissions`` with its ``item_id``
answers it as any item, and so does ``POST /derivations/ID/parts/LETTER/submissions``.
"""

from __future__ import annotations

import sqlalchemy.orm as so
from flask import current_app
from spectree import Response

from exercises import InstanceError
from exercises.derivations import draw_shared, preset
from grader.service import derivations, extensions, gradebook, practice, submissions, variants
from grader.service.db import get_session
from grader.service.models import Derivation, User
from grader.service.queue import grading_queue
from grader.web.api import bp
from grader.web.api.access import course_role, load
from grader.web.api.assignments import member_assignment
from grader.web.api.own_dates import own_item
from grader.web.api.present import item_out, submission_out, submission_stored
from grader.web.api.schemas import (
    DerivationIn,
    DerivationOut,
    DerivationsOut,
    ErrorOut,
    PartAnswerIn,
    PartOut,
    SubmissionOut,
)
from grader.web.api.spec import spec
from grader.web.auth import current_user
from grader.web.errors import ApiError, forbidden, invalid, not_found
from grader.web.limits import runs_functions

READ_ERRORS = {"HTTP_401": ErrorOut, "HTTP_403": ErrorOut, "HTTP_404": ErrorOut}


@bp.post("/assignments/<int:assignment_id>/derivations")
@spec.validate(
    json=DerivationIn,
    resp=Response(HTTP_201=DerivationOut, **READ_ERRORS, HTTP_422=ErrorOut),
    tags=["assignments"],
)
def create_derivation(assignment_id: int, json: DerivationIn) -> tuple[DerivationOut, int]:
    """Add a derivation to an assignment: its parts become the assignment's next items."""
    session = get_session()
    user = current_user()
    assignment, role = member_assignment(session, user, assignment_id)
    if role != "instructor":
        raise forbidden("only the course's instructors may do this")
    try:
        draw_shared(preset(json.preset), 0, json.n, json.K)  # sizes the kinds cannot draw: 422
        forms = json.forms_of_parts()
    except (InstanceError, ValueError) as error:
        raise invalid(str(error)) from None
    derivation = derivations.create(
        session, assignment, json.preset, title=json.title, share=json.share, n=json.n, K=json.K,
        points=json.points, max_attempts=json.max_attempts, answer_forms=forms,
    )
    session.commit()
    return derivation_out(session, derivation, user, "instructor"), 201


@bp.get("/derivations/<int:derivation_id>")
@spec.validate(resp=Response(HTTP_200=DerivationOut, **READ_ERRORS), tags=["assignments"])
def get_derivation(derivation_id: int) -> DerivationOut:
    """The derivation's parts in order; for a student, with their instance and latest answers."""
    session = get_session()
    user = current_user()
    derivation, role = member_derivation(session, user, derivation_id)
    return derivation_out(session, derivation, user, role)


@bp.post("/derivations/<int:derivation_id>/parts/<letter>/submissions")
@runs_functions
@spec.validate(
    json=PartAnswerIn,
    resp=Response(HTTP_201=SubmissionOut, HTTP_202=SubmissionOut, **READ_ERRORS, HTTP_409=ErrorOut,
                  HTTP_422=ErrorOut, HTTP_429=ErrorOut),
    tags=["submissions"],
)
def submit_part(derivation_id: int, letter: str, json: PartAnswerIn) -> tuple[SubmissionOut, int]:
    """Answer one part (graded with the caller's latest answers to the earlier parts); 202
    while workers grade it, as ``POST /submissions``."""
    session = get_session()
    user = current_user()
    derivation, _ = member_derivation(session, user, derivation_id)
    parts = {derivations.part_letter(part): part for part in derivation.parts}
    if letter not in parts:
        raise not_found(f"part ({letter[:8]}) of derivation {derivation_id}")
    queue = grading_queue()
    try:
        submission = submissions.submit(
            session, user, parts[letter], json.answer, json.format,
            queue=queue, per_minute=current_app.config["SUBMISSIONS_PER_MINUTE"],
            draw_number=json.draw_number, instance_digest=json.instance_digest,
        )
    except submissions.RateLimited as refused:
        retry = {"Retry-After": str(refused.retry_after)}
        raise ApiError(429, refused.code, refused.message, retry) from None
    except submissions.Refused as refused:
        raise ApiError(409, refused.code, refused.message) from None
    except InstanceError as error:
        raise invalid(f"this part cannot be drawn: {error}") from None
    queue.grade_now(submission.job)
    return submission_stored(submission, user)


def member_derivation(session: so.Session, user: User, derivation_id: int) -> tuple[Derivation, str]:
    """A derivation of a course the user is in, and their role in that course, or one of their
    own practice sets (as a student); else 404, as for anyone else's practice item."""
    derivation = load(session, Derivation, derivation_id, "derivation")
    if derivation.practice_set is not None:
        if derivation.practice_set.user_id != user.id:
            raise not_found(f"derivation {derivation_id}")
        return derivation, "student"
    assert derivation.assignment is not None
    role = course_role(session, user.id, derivation.assignment.course_id)
    if role is None:
        raise not_found(f"derivation {derivation_id}")
    return derivation, role


def derivation_out(session: so.Session, derivation: Derivation, user: User, role: str) -> DerivationOut:
    parts: list[PartOut] = []
    shared = None
    if role == "instructor":
        parts = [
            PartOut(letter=derivations.part_letter(item), item=item_out(item)) for item in derivation.parts
        ]
    else:
        drawn = variants.drawn_for_each(session, derivation.parts, user.id)
        instances = {item_id: part.instance for item_id, part in drawn.items()}
        cells = standing(session, derivation, user)
        allowed = (
            extensions.allowances(session, derivation.assignment, [user.id])
            if derivation.assignment is not None
            else {}
        )
        for view in derivations.parts_of(session, derivation, user.id, instances):
            cell = cells[view.item.id]
            out = item_out(view.item, view.instance, attempts_used=cell.attempts, score=cell.score,
                           draw_number=drawn[view.item.id].draw_number)
            if (user.id, view.item.id) in allowed:  # the student's own limit, as on the item's own view
                out = own_item(out, allowed[user.id, view.item.id])
            parts.append(PartOut(
                letter=view.letter,
                item=out,
                latest=submission_out(view.latest, user) if view.latest is not None else None,
                changed_since=view.changed_since,
            ))
        shared = derivations.shared_instance(derivation, instances)
    return DerivationOut(
        id=derivation.id,
        assignment_id=derivation.assignment_id,
        practice_set_id=derivation.practice_set_id,
        preset=derivation.preset,
        title=derivation.title,
        share=derivation.share,
        points=sum(item.points for item in derivation.parts),
        reason=derivation.reason,
        shared_instance=shared,
        parts=parts,
    )


def standing(session: so.Session, derivation: Derivation, user: User) -> dict[int, gradebook.Cell]:
    """The student's attempts and counted score on each part: the gradebook's in an assignment,
    the best graded score in practice, which no gradebook holds."""
    if derivation.assignment is None:
        return practice.standing(session, derivation.parts, user.id)
    cells = gradebook.cells(session, [derivation.assignment], [user.id])
    return {item_id: cell for (_, item_id), cell in cells.items()}


@bp.get("/assignments/<int:assignment_id>/derivations")
@spec.validate(resp=Response(HTTP_200=DerivationsOut, **READ_ERRORS), tags=["assignments"])
def list_derivations(assignment_id: int) -> DerivationsOut:
    """The assignment's derivations; for a student, each with their instance and latest answers."""
    session = get_session()
    user = current_user()
    assignment, role = member_assignment(session, user, assignment_id)
    return DerivationsOut(
        derivations=[
            derivation_out(session, derivation, user, role)
            for derivation in derivations.of_assignment(session, assignment.id)
        ]
    )
