"""Submissions: stored with their grading job, graded at once, read back by their author."""

from __future__ import annotations

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask import current_app
from spectree import Response

from exercises import InstanceError
from grader.service import submissions
from grader.service.db import get_session
from grader.service.models import GradingJob, Submission, User
from grader.service.queue import grading_queue
from grader.web.api import bp
from grader.web.api.access import course_role, load, member_item
from grader.web.api.present import submission_out, submission_stored
from grader.web.api.schemas import (
    ErrorOut,
    SubmissionIn,
    SubmissionOut,
    SubmissionQuery,
    SubmissionsOut,
)
from grader.web.api.spec import spec, validated_body
from grader.web.auth import current_user
from grader.web.errors import ApiError, invalid, not_found
from grader.web.limits import runs_functions

LIST_LIMIT = 200


@bp.post("/submissions")
@runs_functions
@spec.validate(
    json=SubmissionIn,
    resp=Response(
        HTTP_201=SubmissionOut,
        HTTP_202=SubmissionOut,
        HTTP_401=ErrorOut,
        HTTP_404=ErrorOut,
        HTTP_409=ErrorOut,
        HTTP_422=ErrorOut,
        HTTP_429=ErrorOut,
    ),
    tags=["submissions"],
    skip_validation=True,  # the service's hot path: see validated_body
)
def submit() -> tuple[SubmissionOut, int]:
    """Store an answer to an item (the caller's own instance of it), grade it, return both.

    Once stored, the answer is answered with its id: graded, or pending when grading
    could not finish (it is graded again later). Where workers grade (the procrastinate
    queue), the verdict is awaited a few seconds; past that the answer is 202 with
    ``status: "grading"``, which GET says too until it gives the verdict.
    """
    user = current_user()
    json = validated_body(SubmissionIn)
    session = get_session()
    item, _role = member_item(session, user, json.item_id)
    queue = grading_queue()
    try:
        submission = submissions.submit(
            session, user, item, json.answer, json.format,
            queue=queue, per_minute=current_app.config["SUBMISSIONS_PER_MINUTE"],
            draw_number=json.draw_number, instance_digest=json.instance_digest,
        )
    except submissions.RateLimited as refused:
        raise ApiError(
            429, refused.code, refused.message, {"Retry-After": str(refused.retry_after)}
        ) from None
    except submissions.Refused as refused:
        raise ApiError(409, refused.code, refused.message) from None
    except InstanceError as error:
        raise invalid(f"this item cannot be drawn: {error}") from None
    queue.grade_now(submission.job)
    return submission_stored(submission, user)


def visible_submission(session: so.Session, user: User, submission_id: int) -> Submission:
    """The caller's own submission, or one to a course they teach; else 404."""
    submission = load(session, Submission, submission_id, "submission")
    if submission.user_id == user.id:
        return submission
    assignment = submission.item.assignment
    if assignment is not None and course_role(session, user.id, assignment.course_id) == (
        "instructor"
    ):
        return submission
    raise not_found(f"submission {submission_id}")


@bp.get("/submissions/<int:submission_id>")
@spec.validate(
    resp=Response(HTTP_200=SubmissionOut, HTTP_401=ErrorOut, HTTP_404=ErrorOut),
    tags=["submissions"],
)
def get_submission(submission_id: int) -> SubmissionOut:
    """A stored submission and its verdict: to its author and the course's instructors."""
    user = current_user()
    return submission_out(visible_submission(get_session(), user, submission_id), user)


@bp.get("/submissions")
@spec.validate(
    query=SubmissionQuery,
    resp=Response(HTTP_200=SubmissionsOut, HTTP_401=ErrorOut, HTTP_422=ErrorOut),
    tags=["submissions"],
)
def list_submissions(query: SubmissionQuery) -> SubmissionsOut:
    """The caller's own submissions, newest first (to one item with ``item_id``)."""
    user = current_user()
    statement = (
        sa.select(Submission)
        .where(Submission.user_id == user.id)
        .options(so.joinedload(Submission.job.of_type(GradingJob)))
        .order_by(Submission.id.desc())
        .limit(LIST_LIMIT)
    )
    if query.item_id is not None:
        statement = statement.where(Submission.item_id == query.item_id)
    rows = get_session().scalars(statement).unique()
    return SubmissionsOut(submissions=[submission_out(s, user) for s in rows])


@bp.post("/submissions/<int:submission_id>/regrade")
@spec.validate(
    resp=Response(
        HTTP_200=SubmissionOut, HTTP_401=ErrorOut, HTTP_403=ErrorOut, HTTP_404=ErrorOut,
        HTTP_409=ErrorOut,
    ),
    tags=["submissions"],
)
def regrade(submission_id: int) -> SubmissionOut:
    """Grade again a submission whose grading failed for good (the course's instructors)."""
    user = current_user()
    session = get_session()
    submission = visible_submission(session, user, submission_id)
    assignment = submission.item.assignment
    if assignment is None or course_role(session, user.id, assignment.course_id) != "instructor":
        raise ApiError(403, "forbidden", "only the course's instructors may do this")
    if not grading_queue().retry(session, submission.job):
        state = submission.job.state
        raise ApiError(409, "conflict", f"its grading is {state}, not failed: nothing to redo")
    return submission_out(submission, user)
