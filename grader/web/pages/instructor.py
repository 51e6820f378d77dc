"""What an instructor sees: courses, the gradebook, item reports, timelines, assignments."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import Response, flash, redirect, render_template, request, url_for

import exercises
from grader.service import gradebook, variants
from grader.service.db import get_session
from grader.service.models import Course, Enrolment, Item, Submission, User
from grader.web import charts
from grader.web.api import access
from grader.web.pages.base import bp, not_found, page_instructor
from grader.web.pages.display import submission_view

WRONG_ANSWERS_PER_CODE = 10
SORT_KEYS = ("name", "section", "total")


def courses_page(user: User) -> str:
    courses = (
        get_session()
        .scalars(
            sa.select(Course)
            .join(Enrolment)
            .where(Enrolment.user_id == user.id, Enrolment.role == "instructor")
            .order_by(Course.code)
        )
        .all()
    )
    return render_template("instructor/courses.html", courses=courses)


def instructed_course(course_id: int) -> Course:
    return access.instructed_course(get_session(), page_instructor(), course_id)


def item_title(item: Item) -> str:
    return exercises.get(item.kind).title


@bp.get("/courses/<int:course_id>")
def course(course_id: int) -> str:
    course = instructed_course(course_id)
    students = gradebook.students(get_session(), course.id)
    return render_template("instructor/course.html", course=course, students=students, item_title=item_title)


# ---- the gradebook ----------------------------------------------------------------


@bp.get("/courses/<int:course_id>/gradebook")
def gradebook_page(course_id: int) -> str:
    course = instructed_course(course_id)
    book = gradebook.build(get_session(), course)
    items = [item for assignment in book.assignments for item in assignment.items]
    sort = request.args.get("sort", "name")
    descending = request.args.get("order") == "desc"
    if sort not in SORT_KEYS and sort not in {f"item-{item.id}" for item in items}:
        sort = "name"
    rows = sorted(book.rows, key=lambda row: _sort_value(row, sort), reverse=descending)
    return render_template(
        "instructor/gradebook.html",
        course=course,
        book=book,
        rows=rows,
        sort=sort,
        descending=descending,
        item_title=item_title,
    )


def _sort_value(row: gradebook.Row, sort: str) -> Any:
    if sort == "section":
        return (row.section, row.user.name)
    if sort == "total":
        return (row.total, row.user.name)
    if sort.startswith("item-"):
        cell = row.cells[int(sort.removeprefix("item-"))]
        return (cell.score if cell.score is not None else -1.0, cell.attempts, row.user.name)
    return row.user.name


@bp.get("/courses/<int:course_id>/gradebook.csv")
def gradebook_csv(course_id: int) -> Response:
    course = instructed_course(course_id)
    text = gradebook.to_csv(gradebook.build(get_session(), course))
    return Response(
        text,
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{course.code}-gradebook.csv"'},
    )


# ---- one item's report ------------------------------------------------------------


@bp.get("/items/<int:item_id>/report")
def item_report(item_id: int) -> str:
    session = get_session()
    item = access.instructed_item(session, page_instructor(), item_id)
    stats = gradebook.item_stats(session, item)
    bins = [
        charts.Bar(f"{low * 100:.0f}–{high * 100:.0f}%", count) for low, high, count in stats.distribution
    ]
    code_bars = [charts.Bar(code, count) for code, count in stats.codes.items()]
    wrong = {code: _wrong_answers(item, code) for code in stats.codes}
    return render_template(
        "instructor/item_report.html",
        item=item,
        title=item_title(item),
        stats=stats,
        bins=bins,
        code_bars=code_bars,
        histogram=charts.histogram(
            bins, f"Scores of the {stats.graded} graded attempts", "score", "attempts", "scores-chart"
        ),
        frequency=charts.frequency_bars(
            code_bars, "How often each misconception appears", "attempts", "codes-chart"
        ),
        wrong=wrong,
    )


def _wrong_answers(item: Item, code: str) -> list[Submission]:
    """The latest wrong answers that showed ``code``."""
    candidates = get_session().scalars(
        sa.select(Submission)
        .where(Submission.item_id == item.id, Submission.correct.is_(False))
        .order_by(Submission.submitted_at.desc(), Submission.id.desc())
    )
    found = []
    for submission in candidates:  # codes are a JSON list: filtered here, the same on every database
        if code in (submission.codes or []):
            found.append(submission)
            if len(found) == WRONG_ANSWERS_PER_CODE:
                break
    return found


# ---- a student ----------------------------------------------------------------------


def course_student(course: Course, user_id: int) -> User:
    session = get_session()
    if access.course_role(session, user_id, course.id) != "student":
        not_found("This student")
    return session.get(User, user_id)  # type: ignore[return-value]


@bp.get("/courses/<int:course_id>/students/<int:user_id>")
def timeline(course_id: int, user_id: int) -> str:
    course = instructed_course(course_id)
    student = course_student(course, user_id)
    session = get_session()
    submitted = gradebook.timeline(session, course.id, student.id)
    events = [submission_view(s, feedback_hidden=False) for s in submitted]
    draws = {
        variant.item_id: variant.draw_number
        for variant in (
            variants.find(session, item, student.id)
            for assignment in course.assignments
            for item in assignment.items
        )
        if variant is not None
    }
    return render_template(
        "instructor/timeline.html",
        course=course,
        student=student,
        events=events,
        draws=draws,
        item_title=item_title,
    )


@bp.post("/items/<int:item_id>/students/<int:user_id>/redraw")
def redraw(item_id: int, user_id: int) -> Response:
    session = get_session()
    item = access.instructed_item(session, page_instructor(), item_id)
    assert item.assignment is not None
    student = course_student(item.assignment.course, user_id)
    variant = variants.redraw(session, item, student.id)
    session.commit()
    flash(
        f"{student.display_name} has a new instance of “{item_title(item)}” (draw {variant.draw_number}). "
        "Their earlier submissions keep the instance they answered.",
        "success",
    )
    return redirect(url_for("pages.timeline", course_id=item.assignment.course_id, user_id=student.id))  # type: ignore[return-value]
