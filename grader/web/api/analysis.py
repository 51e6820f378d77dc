"""Item analysis of an assignment, as JSON and as CSV."""

from __future__ import annotations

from flask import Response as FlaskResponse
from spectree import Response

from grader.service import analysis
from grader.service.db import get_session
from grader.web.api import bp
from grader.web.api.access import instructed_assignment
from grader.web.api.schemas import AnalysisOut, ErrorOut
from grader.web.api.spec import spec
from grader.web.auth import current_user

ERRORS = {"HTTP_401": ErrorOut, "HTTP_403": ErrorOut, "HTTP_404": ErrorOut}


@bp.get("/assignments/<int:assignment_id>/analysis")
@spec.validate(resp=Response(HTTP_200=AnalysisOut, **ERRORS), tags=["reports"])
def assignment_analysis(assignment_id: int) -> AnalysisOut:
    """Per item: facility, discrimination, first-try share, attempts to the first correct
    answer, each misconception's share of students; and the same by K, n and layout."""
    assignment = instructed_assignment(current_user(), assignment_id)
    return AnalysisOut.model_validate(analysis.analyse(get_session(), assignment).as_dict())


@bp.get("/assignments/<int:assignment_id>/analysis.csv")
@spec.validate(resp=Response("HTTP_200", **ERRORS), tags=["reports"])
def assignment_analysis_csv(assignment_id: int) -> FlaskResponse:
    """The item analysis as CSV: a row per item, then one per parameter group of it."""
    assignment = instructed_assignment(current_user(), assignment_id)
    return FlaskResponse(
        analysis.to_csv(analysis.analyse(get_session(), assignment)),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="assignment-{assignment.id}-analysis.csv"'},
    )
