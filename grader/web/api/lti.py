"""LTI: registered platforms and the scores waiting for the LMS (instructors only)."""

from __future__ import annotations

import sqlalchemy as sa
from flask import request
from spectree import Response

from grader.service.db import get_session
from grader.service.lti import ags, platforms
from grader.service.lti.models import LtiGradeSync
from grader.service.models import Enrolment
from grader.web.api import bp
from grader.web.api.schemas import ErrorOut, GradeSyncOut, GradeSyncsOut, PlatformOut, PlatformsOut
from grader.web.api.spec import spec
from grader.web.auth import current_instructor
from grader.web.errors import ApiError, not_found

READ_ERRORS = {"HTTP_401": ErrorOut, "HTTP_403": ErrorOut, "HTTP_404": ErrorOut}


def platform_out(row: object) -> PlatformOut:
    return PlatformOut.model_validate(row, from_attributes=True)


def sync_out(sync: LtiGradeSync) -> GradeSyncOut:
    assignment = sync.link.assignment
    return GradeSyncOut(
        id=sync.id, state=sync.state, user=sync.user.name,
        assignment_id=assignment.id if assignment else None,
        assignment=assignment.title if assignment else None,
        attempts=sync.attempts, requested_at=sync.requested_at, next_attempt_at=sync.next_attempt_at,
        sent_at=sync.sent_at, score_given=sync.score_given, score_maximum=sync.score_maximum,
        last_error=sync.last_error,
    )


def _instructed(user_id: int) -> list[int]:
    return list(
        get_session().scalars(
            sa.select(Enrolment.course_id).where(Enrolment.user_id == user_id, Enrolment.role == "instructor")
        )
    )


@bp.get("/lti/platforms")
@spec.validate(resp=Response(HTTP_200=PlatformsOut, **READ_ERRORS), tags=["lti"])
def list_platforms() -> PlatformsOut:
    """The LMS platforms registered with this tool."""
    current_instructor()
    return PlatformsOut(platforms=[platform_out(p) for p in platforms.every_platform(get_session())])


@bp.post("/lti/platforms")
@spec.validate(
    json=platforms.PlatformIn,
    resp=Response(HTTP_201=PlatformOut, HTTP_409=ErrorOut, HTTP_422=ErrorOut, **READ_ERRORS),
    tags=["lti"],
)
def register_platform(json: platforms.PlatformIn) -> tuple[PlatformOut, int]:
    """Register an LMS (issuer, client id, deployments, its login, token and key set URLs)."""
    user = current_instructor()
    session = get_session()
    try:
        row = platforms.register(session, json, user)
    except platforms.PlatformTaken as error:
        raise ApiError(409, "conflict", str(error)) from None
    session.commit()
    return platform_out(row), 201


@bp.get("/lti/grade-syncs")
@spec.validate(resp=Response(HTTP_200=GradeSyncsOut, **READ_ERRORS), tags=["lti"])
def list_grade_syncs() -> GradeSyncsOut:
    """The scores of the caller's courses for the LMS: waiting, sent, or failed (failed first).

    ``?course_id=`` narrows them to one course.
    """
    user = current_instructor()
    course_ids = _instructed(user.id)
    wanted = request.args.get("course_id")
    if wanted is not None:
        if not wanted.isdigit() or int(wanted) not in course_ids:
            raise not_found(f"course {wanted}")
        course_ids = [int(wanted)]
    syncs = ags.syncs_of_courses(get_session(), course_ids)
    counts = {state: 0 for state in ("waiting", "done", "failed")}
    for sync in syncs:
        counts[sync.state] = counts.get(sync.state, 0) + 1
    return GradeSyncsOut(counts=counts, syncs=[sync_out(sync) for sync in syncs])


@bp.post("/lti/grade-syncs/<int:sync_id>/retry")
@spec.validate(resp=Response(HTTP_200=GradeSyncOut, **READ_ERRORS), tags=["lti"])
def retry_grade_sync(sync_id: int) -> GradeSyncOut:
    """Send a score to the LMS again now (one that failed, or to overwrite a changed grade)."""
    user = current_instructor()
    session = get_session()
    sync = session.get(LtiGradeSync, sync_id)
    assignment = sync.link.assignment if sync is not None else None
    if sync is None or assignment is None or assignment.course_id not in _instructed(user.id):
        raise not_found(f"grade sync {sync_id}")
    ags.send_again(session, sync)
    session.commit()
    return sync_out(sync)
