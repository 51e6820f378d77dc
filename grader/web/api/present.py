"""Stored rows as the API's response models."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import exercises
from grader.judge.verdict import Verdict
from grader.service import submissions
from grader.service.models import Assignment, Item, Submission, User, utcnow
from grader.web.api.access import teaches
from grader.web.api.schemas import AssignmentOut, ItemOut, SubmissionOut, UserOut


def user_out(user: User) -> UserOut:
    return UserOut(id=user.id, name=user.name, full_name=user.full_name, role=user.role)


def item_out(
    item: Item,
    instance: dict[str, Any] | None = None,
    attempts_used: int | None = None,
    score: float | None = None,
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


def feedback_waits(assignment: Assignment | None, viewer: User, now: datetime | None = None) -> bool:
    """Whether a student's feedback is held back until the due date."""
    if assignment is None:
        return False
    return feedback_hidden(
        assignment.feedback_before_due, assignment.due_at, teaches(viewer, assignment), now
    )


def feedback_hidden(
    feedback_before_due: bool, due_at: datetime | None, viewer_teaches: bool, now: datetime | None = None
) -> bool:
    """``viewer_teaches``: the viewer is an instructor of the course (not of some other one)."""
    if feedback_before_due or due_at is None or viewer_teaches:
        return False
    return (now or utcnow()) < due_at


def hide_feedback(verdict: Verdict) -> Verdict:
    """The verdict as a student sees it before the due date: right or not, the score."""
    return Verdict(correct=verdict.correct, score=verdict.score, kind=verdict.kind)


def submission_out(
    submission: Submission,
    viewer: User,
    item: Item | None = None,
    job_state: str | None = None,
) -> SubmissionOut:
    item = item or submission.item
    hidden = feedback_waits(item.assignment, viewer)
    verdict = Verdict.model_validate(submission.verdict) if submission.verdict else None
    if verdict is not None and hidden:
        verdict = hide_feedback(verdict)
    elif verdict is not None and not teaches(viewer, item.assignment):
        verdict = verdict.without_answers()
    state = job_state or (submission.job.state if submission.job is not None else None)
    status = "graded" if submission.verdict else ("failed" if state == "failed" else "pending")
    return SubmissionOut(
        id=submission.id,
        item_id=submission.item_id,
        user_id=submission.user_id,
        answer=submission.answer,
        format=submission.format,
        instance=submission.instance,
        submitted_at=submission.submitted_at,
        late=submission.late,
        status=status,
        verdict=verdict,
        score=submission.score,
        correct=submission.correct,
        codes=None if hidden else submission.codes,
        feedback_hidden=hidden,
        graded_at=submission.graded_at,
        grading_ms=submission.grading_ms,
    )


def accepted_out(
    accepted: submissions.Accepted,
    verdict: Verdict,
    columns: dict[str, Any],
    hidden: bool,
) -> SubmissionOut:
    """The response to a submission graded in the request, built without reading it back."""
    return SubmissionOut(
        id=accepted.id,
        item_id=accepted.item_id,
        user_id=accepted.user_id,
        answer=accepted.answer,
        format=accepted.format,
        instance=accepted.instance,
        submitted_at=accepted.submitted_at,
        late=accepted.late,
        status="graded",
        verdict=hide_feedback(verdict) if hidden else verdict.without_answers(),
        score=verdict.score,
        correct=verdict.correct,
        codes=None if hidden else columns["codes"],
        feedback_hidden=hidden,
        graded_at=columns["graded_at"],
        grading_ms=columns["grading_ms"],
    )
