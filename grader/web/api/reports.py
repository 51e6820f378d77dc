"""Instructors' views of a course: gradebook (JSON, CSV), item statistics, a student's timeline."""

from __future__ import annotations

from flask import Response as FlaskResponse
from spectree import Response

from grader.judge import labels
from grader.service import gradebook
from grader.service.db import get_session
from grader.service.lti import merging
from grader.service.models import User
from grader.web.api import bp
from grader.web.api.access import course_role, instructed_course, instructed_item, load
from grader.web.api.courses import course_out
from grader.web.api.present import submission_out, user_out
from grader.web.api.schemas import (
    BinOut,
    CellOut,
    ErrorOut,
    GradebookAssignmentOut,
    GradebookItemOut,
    GradebookOut,
    ItemStatsOut,
    JoinedAccountOut,
    StudentRowOut,
    TimelineOut,
)
from grader.web.api.spec import spec
from grader.web.auth import current_user
from grader.web.errors import not_found

ERRORS = {"HTTP_401": ErrorOut, "HTTP_403": ErrorOut, "HTTP_404": ErrorOut}


@bp.get("/courses/<int:course_id>/gradebook")
@spec.validate(resp=Response(HTTP_200=GradebookOut, **ERRORS), tags=["reports"])
def get_gradebook(course_id: int) -> GradebookOut:
    """Students x items: the score that counts, the best, attempts, late flags."""
    session = get_session()
    course = instructed_course(session, current_user(), course_id)
    book = gradebook.build(session, course)
    return GradebookOut(
        course=course_out(course, "instructor"),
        assignments=[
            GradebookAssignmentOut(
                id=a.id,
                title=a.title,
                points=a.points,
                due_at=a.due_at,
                items=[GradebookItemOut(id=i.id, kind=i.kind, points=i.points) for i in a.items],
            )
            for a in book.assignments
        ],
        students=[
            StudentRowOut(
                user=user_out(row.user),
                section=row.section,
                total=row.total,
                assignments={str(aid): points for aid, points in row.assignment_points.items()},
                items=[CellOut(**vars(cell)) for cell in row.cells.values()],
            )
            for row in book.rows
        ],
    )


@bp.get("/courses/<int:course_id>/gradebook.csv")
@spec.validate(resp=Response("HTTP_200", **ERRORS), tags=["reports"])
def get_gradebook_csv(course_id: int) -> FlaskResponse:
    """The gradebook as Canvas imports it: Student, SIS Login ID, Section, one column each."""
    session = get_session()
    course = instructed_course(session, current_user(), course_id)
    text = gradebook.to_csv(gradebook.build(session, course))
    response = FlaskResponse(text, mimetype="text/csv")
    response.headers["Content-Disposition"] = (
        f'attachment; filename="{course.code}-gradebook.csv"'
    )
    return response


@bp.get("/items/<int:item_id>/stats")
@spec.validate(resp=Response(HTTP_200=ItemStatsOut, **ERRORS), tags=["reports"])
def get_item_stats(item_id: int) -> ItemStatsOut:
    """Per attempt and per student: scores, first tries, attempts to a right answer, the codes
    shown (how often, by how many students, in plain words, code errors named apart)."""
    session = get_session()
    item = instructed_item(session, current_user(), item_id)
    stats = gradebook.item_stats(session, item)
    return ItemStatsOut(
        item_id=item.id,
        kind=item.kind,
        attempts=stats.attempts,
        graded=stats.graded,
        students=stats.students,
        mean_score=stats.mean_score,
        distribution=[BinOut(low=lo, high=hi, count=n) for lo, hi, n in stats.distribution],
        codes=stats.codes,
        enrolled=stats.enrolled,
        first_try_correct=stats.first_try_correct,
        solved=stats.solved,
        attempts_to_correct=stats.attempts_to_correct,
        mean_best_score=stats.mean_best_score,
        best_distribution=[BinOut(low=lo, high=hi, count=n) for lo, hi, n in stats.best_distribution],
        code_students=stats.code_students,
        labels={code: labels.label(code) for code in stats.codes},
        code_errors=[code for code in stats.codes if labels.is_code_error(code)],
    )


@bp.get("/courses/<int:course_id>/students/<int:user_id>/timeline")
@spec.validate(resp=Response(HTTP_200=TimelineOut, **ERRORS), tags=["reports"])
def get_timeline(course_id: int, user_id: int) -> TimelineOut:
    """A student's submissions to the course, oldest first."""
    session = get_session()
    viewer = current_user()
    course = instructed_course(session, viewer, course_id)
    student = load(session, User, user_id, "student")
    if course_role(session, student.id, course.id) != "student":
        raise not_found(f"student {user_id} in this course")
    return TimelineOut(
        user=user_out(student),
        course_id=course.id,
        submissions=[
            submission_out(s, viewer) for s in gradebook.timeline(session, course.id, student.id)
        ],
        joined_accounts=[
            JoinedAccountOut(
                from_name=m.from_name, merged_at=m.merged_at, moved=m.moved,
                set_apart=[
                    submission_out(s, viewer) for s in merging.set_apart_answers(session, m, course.id)
                ],
            )
            for m in merging.merges_of(session, student.id, course.id)
        ],
    )
