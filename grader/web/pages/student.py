"""What a student sees: the dashboard, an exercise with its verdict, their attempts."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import sqlalchemy as sa
from flask import Response, current_app, flash, redirect, render_template, request, url_for

import exercises
from exercises import InstanceError
from grader.judge.answers import ParseError, read_answer
from grader.judge.answers.detect import detect_format
from grader.judge.formulas import FormulaError, parse, write_latex, write_plain
from grader.service import extensions, gradebook, practice, redraws, submissions, variants
from grader.service.db import get_session
from grader.service.models import Assignment, Course, Enrolment, Item, Submission, User, utcnow
from grader.service.queue import grading_queue
from grader.web.api import access
from grader.web.limits import runs_functions
from grader.web.pages import display, draws
from grader.web.pages.base import bp, error_page, not_found, page_student, page_user, taught_here
from grader.web.pages.display import instance_view, submission_view, text_problem

FORMAT_LABELS = {"json": "JSON", "text": "text", "python": "Python", "formula": "a formula"}


# ---- access -----------------------------------------------------------------------


def feedback_hidden(item: Item, user: User) -> bool:
    """Feedback waits for the due date when the assignment says so; the score does not."""
    teaches = access.teaches(user, item.assignment)
    own = None if teaches else extensions.allowance(get_session(), item, user.id).due_at
    return submissions.feedback_hidden(item.assignment, teaches=teaches, due_at=own)


def student_item(item_id: int, user: User) -> Item:
    """An item the user may answer: in a course they take or one of their practice sets. Their
    role in the item's course decides, not their account's."""
    item, role = access.member_item(get_session(), user, item_id)
    if role == "instructor":
        taught_here("This item")
    if role != "student":
        not_found("This item")
    return item


def item_submissions(item: Item, user: User) -> list[Submission]:
    return list(
        get_session().scalars(
            sa.select(Submission)
            .where(Submission.item_id == item.id, Submission.user_id == user.id)
            .order_by(Submission.submitted_at, Submission.id)
        )
    )


@dataclass(frozen=True)
class ItemRow:
    id: int
    title: str
    points: float
    max_attempts: int | None
    attempts_used: int
    score: float | None
    late: bool
    feedback_hidden: bool
    reason: str | None


def attempts_and_scores(items: list[Item], user: User) -> dict[int, gradebook.Cell]:
    """The student's attempts and counted score per item: the gradebook's for an assignment,
    the best graded score for practice items, which no gradebook holds."""
    assignments = {item.assignment.id: item.assignment for item in items if item.assignment}
    by_key = gradebook.cells(get_session(), list(assignments.values()), [user.id])
    table = {item_id: cell for (_, item_id), cell in by_key.items()}
    practice_items = [item for item in items if item.assignment is None]
    table.update(practice.standing(get_session(), practice_items, user.id))
    return table


def own_limits(items: list[Item], user: User) -> dict[int, int | None]:
    """The student's own attempt limit per item: an extension's extra and the attempts
    re-draws gave back included (a practice item's is its own)."""
    assignments = {item.assignment.id: item.assignment for item in items if item.assignment}
    limits: dict[int, int | None] = {item.id: item.max_attempts for item in items}
    for assignment in assignments.values():
        allowed = extensions.allowances(get_session(), assignment, [user.id])
        limits.update({item_id: a.max_attempts for (_, item_id), a in allowed.items() if item_id in limits})
    return limits


def item_rows(items: list[Item], user: User) -> list[ItemRow]:
    cells = attempts_and_scores(items, user)
    limits = own_limits(items, user)
    return [
        ItemRow(
            item.id,
            exercises.get(item.kind).title,
            item.points,
            limits[item.id],
            cells[item.id].attempts,
            cells[item.id].score,
            cells[item.id].late,
            feedback_hidden(item, user),
            item.reason,
        )
        for item in items
    ]


# ---- pages ------------------------------------------------------------------------


def taken_courses(user: User) -> list[Course]:
    """The courses the user is enrolled in as a student, whatever their account's role."""
    return list(
        get_session().scalars(
            sa.select(Course)
            .join(Enrolment)
            .where(Enrolment.user_id == user.id, Enrolment.role == "student")
            .order_by(Course.code)
        )
    )


def dashboard(user: User) -> str:
    """The start page of a student: their courses, assignments and progress."""
    courses = taken_courses(user)
    now = utcnow()
    return render_template(
        "student/dashboard.html",
        courses=[
            {
                "id": course.id,
                "code": course.code,
                "title": course.title,
                "assignments": [_assignment_summary(a, user, now) for a in course.assignments],
            }
            for course in courses
        ],
    )


def _assignment_summary(assignment: Assignment, user: User, now: Any) -> dict[str, Any]:
    rows = item_rows(assignment.items, user)
    return {
        "title": assignment.title,
        "due_at": assignment.due_at,
        "past_due": assignment.due_at is not None and now > assignment.due_at,
        "points": assignment.points,
        "rows": rows,
        "done": sum(1 for r in rows if r.attempts_used),
        "earned": sum((r.score or 0.0) * r.points for r in rows),
    }


@bp.get("/dashboard")
def student_dashboard() -> str:
    """The dashboard of any account that takes courses: the start page of a student account,
    linked from the start page of an instructor account enrolled as a student somewhere."""
    return dashboard(page_student())


@bp.get("/items/<int:item_id>")
def exercise(item_id: int) -> tuple[str, int]:
    user = page_student()
    item = student_item(item_id, user)
    return _exercise_page(item, user)


def _exercise_page(
    item: Item, user: User, status: int = 200, *, stale: bool = False, **form: Any
) -> tuple[str, int]:
    """The item's page; ``stale``: it answers a form whose values were since re-drawn."""
    session = get_session()
    drawn = variants.drawn_for(session, item, user.id)  # the numbers shown and the draw the forms send
    past = item_submissions(item, user)
    score = attempts_and_scores([item], user)[item.id].score  # the limit is read once, below
    answered = draws.answered(session, item, user, past, drawn)
    allowed = extensions.allowance(session, item, user.id)  # their own, extended or not
    used = sum(submissions.is_attempt(s) for s in past)
    if answered.current and not any(k in form for k in ("answer_text", "formula_text", "code_text")):
        last = answered.current[-1]  # the student's text stays in its box, to be fixed in place
        form[{"python": "code_text", "formula": "formula_text"}.get(last.format, "answer_text")] = last.answer
    view = {
        **instance_view(item.kind, drawn.instance).__dict__,
        "item": item,
        "assignment": item.assignment,
        "reason": item.reason,
        "attempts_used": used,
        "attempts_left": allowed.attempts_left(used),
        "given_back": redraws.given_back_last(session, item, user.id) if answered.redrawn else 0,
        "score": score,
        # the summary speaks of the question on the page: answers to an earlier draw are history
        "last_attempt": submission_view(answered.current[-1], user) if answered.current else None,
        "redrawn": answered.redrawn,
        "earlier_answers": answered.earlier,
        "draw_number": drawn.draw_number,
        "instance_digest": drawn.digest,
    }
    if stale:  # said once the attempts left on the new values are known: no form without one
        form["form_error"] = draws.stale_answer(view["attempts_left"])
    return render_template("student/exercise.html", view=view, **form), status


@bp.post("/items/<int:item_id>/submit")
@runs_functions
def submit(item_id: int) -> Response | tuple[str, int]:
    user = page_student()
    item = student_item(item_id, user)
    answer = request.form.get("answer", "")
    chosen = request.form.get("format", "auto")
    fmt = detect_format(answer) if chosen == "auto" else chosen
    form = {"answer_format": chosen}
    form[{"python": "code_text", "formula": "formula_text"}.get(fmt, "answer_text")] = answer
    problem = _answer_problem(answer, fmt)
    if problem:
        return _exercise_page(item, user, 422, form_error=problem, **form)
    session = get_session()
    queue = grading_queue()
    try:
        submission = submissions.submit(
            session, user, item, answer, fmt,
            queue=queue, per_minute=current_app.config["SUBMISSIONS_PER_MINUTE"],
            draw_number=draws.sent_draw(request.form), instance_digest=draws.sent_digest(request.form),
        )
    except submissions.StaleDraw:
        return _exercise_page(item, user, 409, stale=True, **form)
    except submissions.RateLimited as refused:
        return _exercise_page(item, user, 429, form_error=f"Not stored: {refused.message}.", **form)
    except submissions.Refused as refused:
        return _exercise_page(item, user, 409, form_error=f"Not stored: {refused.message}.", **form)
    except InstanceError as error:
        return error_page(422, f"This item cannot be drawn: {error}. Tell your instructor.")
    queue.grade_now(submission.job)
    flash("Your answer is stored.", "success")
    return redirect(url_for("pages.exercise", item_id=item.id, _anchor="verdict"))  # type: ignore[return-value]


def _answer_problem(answer: str, fmt: str) -> str | None:
    if fmt not in FORMAT_LABELS:
        return f"Choose a format: {', '.join(FORMAT_LABELS)}."
    return text_problem(answer)


@bp.post("/items/<int:item_id>/preview")
def preview(item_id: int) -> str | tuple[str, int]:
    """How an answer is read, before it is graded: nothing stored, no attempt used."""
    user = page_user()
    if access.instructs_only(get_session(), user):
        return error_page(403, "The preview is for students answering an item.")
    item = student_item(item_id, user)
    answer = request.form.get("answer", "")
    chosen = request.form.get("format", "auto")
    fmt = detect_format(answer) if chosen == "auto" else chosen
    fmt_label = FORMAT_LABELS.get(fmt, fmt)
    if fmt == "python":
        return render_template(
            "student/preview.html",
            error="this looks like Python code; submit it in the code box below to run it",
            fmt_label=fmt_label,
        )
    problem = _answer_problem(answer, fmt)
    if problem:
        return render_template("student/preview.html", error=problem, fmt_label=fmt_label)
    if fmt == "formula":
        return _formula_preview(item, answer)
    try:
        read = read_answer(answer, fmt)  # type: ignore[arg-type]
    except ParseError as error:
        return render_template("student/preview.html", error=str(error), fmt_label=fmt_label)
    instance = variants.instance_for(get_session(), item, user.id)
    expected = exercises.get(item.kind).expected_shape(instance)
    array = read.array
    rows = None
    if array.ndim <= 2 and array.size <= display.MAX_GRID_ENTRIES:
        rows = [[display.number_text(v) for v in row] for row in np.atleast_2d(array).tolist()]
    shape_note = None
    if tuple(array.shape) != tuple(expected):
        shape_note = (
            f"The question asks for shape {' × '.join(map(str, expected))}; "
            f"this is {' × '.join(map(str, array.shape))}."
        )
    return render_template(
        "student/preview.html",
        read=read,
        rows=rows,
        shape_note=shape_note,
        fmt_label=fmt_label,
    )


def _formula_preview(item: Item, answer: str) -> str:
    """How a formula is read (read_as, as MathML), before anything is graded or stored."""
    notation = exercises.get(item.kind).notation
    if notation is None:
        return render_template(
            "student/preview.html", error="this item takes no formulas", fmt_label="a formula"
        )
    try:
        tree = parse(answer, notation)
    except FormulaError as error:
        if error.tree is None:
            return render_template("student/preview.html", error=str(error), fmt_label="a formula")
        return render_template(
            "student/preview.html",
            formula_latex=write_latex(error.tree),  # type: ignore[arg-type]
            formula_text=write_plain(error.tree),  # type: ignore[arg-type]
            formula_problem=error.message,
        )
    return render_template(
        "student/preview.html", formula_latex=write_latex(tree), formula_text=write_plain(tree)
    )


@bp.get("/items/<int:item_id>/history")
def history(item_id: int) -> str:
    user = page_student()
    item = student_item(item_id, user)
    past = item_submissions(item, user)
    answered = draws.answered(get_session(), item, user, past)
    attempts = [
        (submission_view(s, user), label)
        for s, label in reversed(list(zip(past, answered.labels, strict=True)))
    ]
    view = {"item": item, "title": exercises.get(item.kind).title}
    return render_template("student/history.html", view=view, attempts=attempts)
