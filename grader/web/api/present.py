"""Stored rows as the API's response models."""

from __future__ import annotations

from typing import Any

import exercises
from grader.service import submissions, variants
from grader.service.models import Assignment, Item, Submission, User
from grader.service.queue import grading_queue
from grader.web.api.access import teaches
from grader.web.api.schemas import AssignmentOut, ItemOut, SubmissionOut, UserOut


def user_out(user: User) -> UserOut:
    return UserOut(id=user.id, name=user.name, full_name=user.full_name, role=user.role)


def item_out(
    item: Item,
    instance: dict[str, Any] | None = None,
    attempts_used: int | None = None,
    score: float | None = None,
    draw_number: int | None = None,
) -> ItemOut:
    exercise = exercises.KINDS.get(item.kind)
    statement = exercise.statement(instance) if exercise is not None and instance else None
    attempts_left = None
    if attempts_used is not None and item.max_attempts is not None:
        attempts_left = max(0, item.max_attempts - attempts_used)
    return ItemOut(
        id=item.id,
        kind=item.kind,
        title=exercise.title if exercise is not None else item.kind,
        signature=exercise.signature if exercise is not None else item.kind,
        position=item.position,
        n=item.n,
        K=item.K,
        layout=item.layout,
        points=item.points,
        max_attempts=item.max_attempts,
        answer_forms=list(item.answer_forms),
        assignment_id=item.assignment_id,
        practice_set_id=item.practice_set_id,
        reason=item.reason,
        instance=instance,
        draw_number=draw_number,
        instance_digest=variants.digest(instance) if draw_number is not None and instance else None,
        statement=statement.text if statement else None,
        statement_latex=statement.latex if statement else None,
        attempts_used=attempts_used,
        attempts_left=attempts_left,
        score=score,
    )


def assignment_out(assignment: Assignment, items: list[ItemOut] | None = None) -> AssignmentOut:
    return AssignmentOut(
        id=assignment.id,
        course_id=assignment.course_id,
        title=assignment.title,
        due_at=assignment.due_at,
        score_policy=assignment.score_policy,
        feedback_before_due=assignment.feedback_before_due,
        points=assignment.points,
        items=items if items is not None else [item_out(item) for item in assignment.items],
    )


def submission_out(submission: Submission, viewer: User) -> SubmissionOut:
    seen = submissions.as_seen(submission, teaches=teaches(viewer, submission.item.assignment),
                               grades_elsewhere=grading_queue().grades_elsewhere)
    return SubmissionOut(
        id=submission.id,
        item_id=submission.item_id,
        user_id=submission.user_id,
        answer=submission.answer,
        format=submission.format,
        instance=submission.instance,
        submitted_at=submission.submitted_at,
        late=submission.late,
        status=seen.status,
        verdict=seen.verdict,
        score=submission.score,
        correct=submission.correct,
        codes=None if seen.feedback_hidden else submission.codes,
        feedback_hidden=seen.feedback_hidden,
        graded_at=submission.graded_at,
        grading_ms=submission.grading_ms,
    )


def submission_stored(submission: Submission, viewer: User) -> tuple[SubmissionOut, int]:
    """The answer to the request that stored ``submission``: 201 with what is there, or 202
    while workers grade it (``status: "grading"``, as every GET says until the verdict is in)."""
    out = submission_out(submission, viewer)
    return out, 202 if out.status == "grading" else 201
