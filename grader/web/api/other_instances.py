"""Per assignment, the submissions right for another student's variant, and whose."""

from __future__ import annotations

from spectree import Response

from grader.service import other_instance
from grader.service.db import get_session
from grader.web.api import bp
from grader.web.api.access import instructed_assignment
from grader.web.api.schemas import ErrorOut, MatchesOut, MatchOut, StudentRefOut
from grader.web.api.spec import spec
from grader.web.auth import current_user

ERRORS = {"HTTP_401": ErrorOut, "HTTP_403": ErrorOut, "HTTP_404": ErrorOut}


@bp.get("/assignments/<int:assignment_id>/other-instances")
@spec.validate(resp=Response(HTTP_200=MatchesOut, **ERRORS), tags=["reports"])
def other_instances(assignment_id: int) -> MatchesOut:
    """Submissions marked other_instance, each with the students whose variant it answers."""
    assignment = instructed_assignment(current_user(), assignment_id)
    found = other_instance.matches(get_session(), assignment.items)
    return MatchesOut(
        assignment_id=assignment.id,
        matches=[
            MatchOut(
                submission_id=m.submission.id,
                item_id=m.submission.item_id,
                student=StudentRefOut(user_id=m.submission.user_id, name=m.submission.user.name),
                submitted_at=m.submission.submitted_at,
                matched=[StudentRefOut(user_id=u.id, name=u.name) for u in m.owners],
            )
            for m in found
        ],
    )
