"""What an instructor sees: courses, the gradebook, item reports, timelines, assignments."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from flask import Response, flash, redirect, render_template, request, url_for
from markupsafe import Markup

import exercises
from grader.judge import labels
from grader.service import derivations, gradebook, redraws, variants
from grader.service.db import get_session
from grader.service.lti import merging
from grader.service.models import Course, Enrolment, Item, Submission, User
from grader.web import charts
from grader.web.api import access
from grader.web.pages import draws as draw_marks
from grader.web.pages.base import bp, not_found, page_instructor
from grader.web.pages.display import instance_view, submission_view

WRONG_ANSWERS_PER_CODE = 10
SORT_KEYS = ("name", "section", "total")


def courses_page(user: User, taking: Sequence[Course] = ()) -> str:
    """The courses ``user`` teaches; ``taking``, those they are enrolled in as a student."""
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
    return render_template("instructor/courses.html", courses=courses, taking=taking)


def instructed_course(course_id: int) -> Course:
    return access.instructed_course(get_session(), page_instructor(), course_id)


def item_title(item: Item) -> str:
    title = exercises.get(item.kind).title
    if item.derivation_id is None:
        return title
    return f"{item.derivation.title} ({derivations.part_letter(item)}): {title}"


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
        charts.Bar(f"{low * 100:.0f}–{high * 100:.0f}%", count)
        for low, high, count in stats.best_distribution
    ]
    maths = [code for code in stats.code_students if labels.is_mathematics(code)]
    errors = [code for code in stats.code_students if not labels.is_mathematics(code)]
    wrong = {code: _wrong_answers(item, code) for code in [*maths, *errors]}
    return render_template(
        "instructor/item_report.html",
        item=item,
        title=item_title(item),
        stats=stats,
        bins=bins,
        maths=maths,
        errors=errors,
        histogram=charts.histogram(
            bins,
            f"Best scores of the {stats.students} students who answered",
            "best score",
            "students",
            "scores-chart",
        ),
        maths_chart=_share_chart(stats, maths, "Mistakes in the mathematics", "maths-chart"),
        errors_chart=_share_chart(stats, errors, "Code that failed or text not readable", "errors-chart"),
        wrong=wrong,
    )


def _share_chart(stats: gradebook.ItemStats, codes: list[str], title: str, chart_id: str) -> Markup:
    """Each code as the share of the students who answered that showed it at least once."""
    bars = []
    for code in codes:
        count = stats.code_students[code]
        share = f"{count} of {stats.students} ({count / stats.students:.0%})"
        bars.append(charts.Bar(labels.label(code), count, share))
    return charts.frequency_bars(bars, title + ": students who made each", "students", chart_id)


def _wrong_answers(item: Item, code: str) -> list[Submission]:
    """The latest wrong answers that showed ``code``, of the course's members (students, and
    instructors trying it): the answers a join set apart count for nothing, and show nowhere."""
    assert item.assignment is not None
    candidates = get_session().scalars(
        sa.select(Submission)
        .where(Submission.item_id == item.id, Submission.correct.is_(False),
               Submission.user_id.in_(gradebook.members(item.assignment.course_id)))
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
    by_item: dict[int, list[Submission]] = {}
    for submission in submitted:
        by_item.setdefault(submission.item_id, []).append(submission)
    drawn: dict[int, str | None] = {}
    for past in by_item.values():
        answered = draw_marks.answered(session, past[0].item, student, past)
        drawn.update({s.id: label for s, label in zip(past, answered.labels, strict=True)})
    viewer = page_instructor()
    events = [(submission_view(s, viewer), drawn[s.id]) for s in submitted]
    draws = {
        variant.item_id: variant.draw_number
        for variant in (
            variants.find(session, item, student.id)
            for assignment in course.assignments
            for item in assignment.items
        )
        if variant is not None
    }
    items = {item.id: item for assignment in course.assignments for item in assignment.items}
    redrawn = redraws.of_student(session, list(items), student.id)
    by_ids = {record.by_id for record in redrawn if record.by_id is not None}
    by = {user.id: user.display_name for user in session.scalars(sa.select(User).where(User.id.in_(by_ids)))}
    return render_template(
        "instructor/timeline.html",
        course=course,
        student=student,
        events=events,
        draws=draws,
        redraws=[
            (record, items[record.item_id], None if record.by_id is None else by.get(record.by_id))
            for record in redrawn
        ],
        joined=[(m, merging.set_apart_answers(session, m, course.id)) for m in merging.merges_of(
            session, student.id, course.id
        )],
        item_title=item_title,
    )


def _redraw_target(item_id: int, user_id: int) -> tuple[Item, User]:
    item = access.instructed_item(get_session(), page_instructor(), item_id)
    if item.assignment is None:
        not_found("This assignment item")
    return item, course_student(item.assignment.course, user_id)


@bp.get("/items/<int:item_id>/students/<int:user_id>/redraw")
def confirm_redraw(item_id: int, user_id: int) -> str:
    """What a re-draw changes, before it does: the student's question, their answers to it, and
    what giving back or keeping the attempts they used leaves them on the new question."""
    return _confirm_page(*_redraw_target(item_id, user_id))[0]


def _confirm_page(
    item: Item, student: User, choice: str | None = None, error: str | None = None, status: int = 200
) -> tuple[str, int]:
    session = get_session()
    variant = variants.find(session, item, student.id)
    instance = variants.instance_for(session, item, student.id)
    answers = session.scalar(
        sa.select(sa.func.count(Submission.id)).where(
            Submission.item_id == item.id, Submission.user_id == student.id
        )
    )
    page = render_template(
        "instructor/redraw.html",
        item=item,
        title=item_title(item),
        student=student,
        draw_number=variant.draw_number if variant else 0,
        view=instance_view(item.kind, instance),
        answers=answers,
        parts=[redraws.attempts(session, part, student.id) for part in redraws.parts(item)],
        part_letter=derivations.part_letter,
        choice=choice if choice in redraws.CHOICES else redraws.DEFAULT_CHOICE,
        error=error,
    )
    return page, status


@bp.post("/items/<int:item_id>/students/<int:user_id>/redraw")
def redraw(item_id: int, user_id: int) -> Response | tuple[str, int]:
    item, student = _redraw_target(item_id, user_id)
    session = get_session()
    choice = request.form.get("earlier_attempts", redraws.DEFAULT_CHOICE)
    if choice not in redraws.CHOICES:
        return _confirm_page(item, student, error="Choose whether the attempts used are given back or kept.",
                             status=400)
    done = redraws.redraw(session, item, student.id, give_back=redraws.CHOICES[choice],
                          by_id=page_instructor().id)
    session.commit()
    draw = done.variant.draw_number
    flash(
        f"{student.display_name} has a new instance of “{item_title(item)}” (draw {draw}); "
        f"{_attempts_done(done)}. The item's page tells them the question changed; their earlier submissions "
        "keep the instance they answered, marked with its draw.",
        "success",
    )
    return redirect(url_for("pages.timeline", course_id=item.assignment.course_id, user_id=student.id))  # type: ignore[return-value, union-attr]


def _attempts_done(done: redraws.Redrawn) -> str:
    """What a re-draw did with the attempts used, in words."""
    used = sum(record.attempts_used for record in done.records)
    if not used:
        return "no attempt had been used on the earlier question"
    verb = "was" if used == 1 else "were"
    attempts = f"the {used} attempt{'' if used == 1 else 's'} used on the earlier question"
    return f"{attempts} {verb} given back" if done.records[0].gave_back else f"{attempts} stay used"
