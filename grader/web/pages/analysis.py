"""The item analysis page of an assignment, with its charts, and its CSV."""

from __future__ import annotations

from flask import Response, render_template

from grader.service import analysis
from grader.service.db import get_session
from grader.web import charts
from grader.web.pages.base import bp
from grader.web.pages.instructor import item_title
from grader.web.pages.instructor_tools import instructed_assignment


@bp.get("/assignments/<int:assignment_id>/analysis")
def analysis_page(assignment_id: int) -> str:
    assignment = instructed_assignment(assignment_id)
    result = analysis.analyse(get_session(), assignment)
    items = {item.id: item for item in assignment.items}
    facility = [
        charts.Bar(f"{i.position}. {i.kind}", round((i.facility or 0) * 100)) for i in result.items
    ]
    code_charts = {
        i.item_id: charts.frequency_bars(
            [charts.Bar(code, round(share * 100)) for code, share in i.codes.items()],
            f"Item {i.position}: the share of students (%) who showed each misconception",
            "% of students", f"codes-{i.item_id}",
        )
        for i in result.items
        if i.codes
    }
    return render_template(
        "instructor/analysis.html", assignment=assignment, result=result, items=items,
        item_title=item_title, code_charts=code_charts,
        facility_chart=charts.frequency_bars(
            facility, "Facility of each item (% mean best score)", "% facility", "facility"
        ),
    )


@bp.get("/assignments/<int:assignment_id>/analysis.csv")
def analysis_csv(assignment_id: int) -> Response:
    assignment = instructed_assignment(assignment_id)
    return Response(
        analysis.to_csv(analysis.analyse(get_session(), assignment)),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="assignment-{assignment.id}-analysis.csv"'},
    )
