"""Regrading an assignment (dry run or applied), and a submission's replaced verdicts."""

from __future__ import annotations

from spectree import Response

from exercises import CATALOG_VERSION
from grader import __version__
from grader.service import regrade
from grader.service.db import get_session
from grader.service.models import Submission
from grader.web.api import bp
from grader.web.api.access import course_role, instructed_assignment, load
from grader.web.api.schemas import (
    ChangedSubmissionOut,
    ErrorOut,
    HistoryOut,
    PastVerdictOut,
    RegradeIn,
    RegradeOut,
    StudentChangeOut,
)
from grader.web.api.spec import spec
from grader.web.auth import current_user
from grader.web.errors import invalid, not_found

ERRORS = {"HTTP_401": ErrorOut, "HTTP_403": ErrorOut, "HTTP_404": ErrorOut}


def regrade_out(plan: regrade.Plan, replaced: int | None) -> RegradeOut:
    return RegradeOut(
        assignment_id=plan.assignment_id,
        applied=replaced is not None,
        regraded=len(plan.regraded),
        replaced=replaced or 0,
        failed=len(plan.failed),
        stored_versions=plan.stored_versions,
        catalog_version=CATALOG_VERSION,
        grader_version=__version__,
        seconds=round(plan.seconds, 3),
        students=[
            StudentChangeOut(user_id=s.user_id, name=s.name, old_points=s.old_points,
                             new_points=s.new_points, delta=s.delta, reasons=s.reasons)
            for s in plan.students
        ],
        changed=[
            ChangedSubmissionOut(
                submission_id=r.submission_id, user_id=r.user_id, item_id=r.item_id,
                old_score=r.old["score"], new_score=r.new.score,
                old_codes=list(r.old["codes"] or []), new_codes=r.new.codes,
            )
            for r in plan.changed
            if r.new is not None
        ],
    )


@bp.post("/assignments/<int:assignment_id>/regrade")
@spec.validate(
    json=RegradeIn, resp=Response(HTTP_200=RegradeOut, **ERRORS, HTTP_422=ErrorOut), tags=["regrading"]
)
def regrade_assignment(assignment_id: int, json: RegradeIn) -> RegradeOut:
    """Grade every graded submission again (with new item settings if given): who moves, why.

    A dry run unless ``apply``; applying stores the new verdicts and settings and keeps
    the old verdicts in each submission's history.
    """
    session = get_session()
    user = current_user()
    assignment = instructed_assignment(user, assignment_id)
    edits = [
        regrade.ItemEdit(e.item_id, e.points, e.max_attempts, e.unlimited_attempts)
        for e in json.items
    ]
    try:
        plan = regrade.plan(session, assignment, edits)
    except ValueError as error:
        raise invalid(f"items: {error}") from None
    replaced = regrade.apply(session, plan, by=user.name) if json.apply else None
    return regrade_out(plan, replaced)


@bp.get("/submissions/<int:submission_id>/history")
@spec.validate(resp=Response(HTTP_200=HistoryOut, **ERRORS), tags=["regrading"])
def submission_history(submission_id: int) -> HistoryOut:
    """The verdicts regrades replaced, oldest first (the course's instructors only)."""
    session = get_session()
    user = current_user()
    submission = load(session, Submission, submission_id, "submission")
    assignment = submission.item.assignment
    if assignment is None or course_role(session, user.id, assignment.course_id) != "instructor":
        raise not_found(f"submission {submission_id}")
    return HistoryOut(
        submission_id=submission.id,
        past=[
            PastVerdictOut(replaced_at=p.replaced_at, reason=p.reason, score=p.score,
                           correct=p.correct, codes=list(p.codes or []),
                           catalog_version=p.catalog_version, grader_version=p.grader_version,
                           verdict=p.verdict)
            for p in regrade.history(session, submission.id)
        ],
    )
