"""What a student sees: the dashboard, an exercise with its verdict, their attempts, practice."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import sqlalchemy as sa
from flask import Response, current_app, flash, redirect, render_template, request, url_for
from markupsafe import Markup

import exercises
from exercises import Exercise
from grader import jobs, submissions, variants
from grader.answers import NOTATION_LABELS, ParseError, read_answer
from grader.db import get_session
from grader.models import Assignment, Course, Enrolment, Item, Submission, User, utcnow
from grader.web.mathml import render_statement
from grader.web.pages import display
from grader.web.pages.base import bp, error_page, not_found, page_student, page_user

MAX_ANSWER_CHARS = 100_000
FORMAT_LABELS = {"json": "JSON", "text": "text", "python": "Python"}


# ---- view models ------------------------------------------------------------------


@dataclass(frozen=True)
class InstanceView:
    """An instance as a student reads it: statement, given values, what to answer."""

    exercise: Exercise
    instance: dict[str, Any]
    title: str
    statement_html: Markup
    statement_text: str
    givens: list[display.GivenValue]
    notations: list[display.Notation]
    expected_shape: tuple[int, ...]
    signature: str
    code_template: str


@dataclass(frozen=True)
class ShownSubmission:
    """A stored submission with what may be shown of its verdict."""

    submission: Submission
    status: str
    verdict: dict[str, Any] | None
    feedback_hidden: bool
    late: bool
    grid: list[list[display.Cell]] | None


def instance_view(kind: str, instance: dict[str, Any]) -> InstanceView:
    exercise = exercises.get(kind)
    statement = exercise.statement(instance)
    arguments = ", ".join(exercise.given)
    return InstanceView(
        exercise=exercise,
        instance=instance,
        title=exercise.title,
        statement_html=render_statement(statement.latex),
        statement_text=statement.text,
        givens=display.given_values(exercise, instance),
        notations=display.notations(exercise, instance),
        expected_shape=exercise.expected_shape(instance),
        signature=exercise.signature,
        code_template=f"import numpy as np\n\n\ndef {exercise.name}({arguments}):\n    ",
    )


def feedback_hidden(item: Item, user: User) -> bool:
    """Feedback waits for the due date when the assignment says so (never for instructors)."""
    assignment = item.assignment
    if assignment is None or assignment.feedback_before_due or user.is_instructor:
        return False
    return assignment.due_at is not None and utcnow() < assignment.due_at


def shown(submission: Submission, hidden: bool) -> ShownSubmission:
    job = submission.job
    if submission.verdict is not None:
        status = "graded"
    elif job is not None and job.state == "failed":
        status = "failed"
    else:
        status = "pending"
    grid = None
    if status == "graded" and not hidden and submission.format != "python":
        grid = _answer_grid(submission)
    return ShownSubmission(submission, status, submission.verdict, hidden, submission.late, grid)


def _answer_grid(submission: Submission) -> list[list[display.Cell]] | None:
    verdict = submission.verdict or {}
    expected, received = verdict.get("expected_shape"), verdict.get("received_shape")
    if expected is not None and received is not None and expected != received:
        return None
    try:
        array = read_answer(submission.answer, submission.format).array  # type: ignore[arg-type]
    except ParseError:
        return None
    if array.ndim > 2 or not np.all(np.isfinite(array)):
        return None
    return display.answer_grid(array.tolist(), verdict.get("wrong_entries", []))


def counted_score(scores: list[float], policy: str) -> float | None:
    """The score that counts among graded attempts (oldest first), by the policy."""
    if not scores:
        return None
    return scores[-1] if policy == "latest" else max(scores)


# ---- access -----------------------------------------------------------------------


def student_item(item_id: int, user: User) -> Item:
    """An item the student may answer: in one of their courses or one of their practice sets."""
    session = get_session()
    item = session.get(Item, item_id)
    if item is None:
        not_found("This item")
    if item.practice_set is not None:
        if item.practice_set.user_id != user.id:
            not_found("This item")
        return item
    assignment = item.assignment
    enrolled = session.scalar(
        sa.select(Enrolment.id).where(
            Enrolment.course_id == assignment.course_id,  # type: ignore[union-attr]
            Enrolment.user_id == user.id,
            Enrolment.role == "student",
        )
    )
    if enrolled is None:
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


def item_rows(items: list[Item], user: User, policy: str = "best") -> list[ItemRow]:
    """Each item with the student's attempts and the score that counts."""
    if not items:
        return []
    rows = get_session().execute(
        sa.select(Submission.item_id, Submission.score, Submission.late)
        .where(Submission.user_id == user.id, Submission.item_id.in_([i.id for i in items]))
        .order_by(Submission.submitted_at, Submission.id)
    ).tuples()
    attempts: dict[int, int] = {}
    scores: dict[int, list[tuple[float, bool]]] = {}
    for item_id, score, late in rows:
        attempts[item_id] = attempts.get(item_id, 0) + 1
        if score is not None:
            scores.setdefault(item_id, []).append((score, late))
    found = []
    for item in items:
        graded = scores.get(item.id, [])
        score = counted_score([s for s, _ in graded], policy)
        late = any(late and s == score for s, late in graded)
        found.append(
            ItemRow(item.id, exercises.get(item.kind).title, item.points, item.max_attempts,
                    attempts.get(item.id, 0), score, late, feedback_hidden(item, user), item.reason)
        )
    return found


# ---- pages ------------------------------------------------------------------------


@bp.get("/")
def index() -> str | Response:
    user = page_user()
    if user.is_instructor:
        from grader.web.pages.instructor import courses_page

        return courses_page(user)
    session = get_session()
    courses = session.scalars(
        sa.select(Course)
        .join(Enrolment)
        .where(Enrolment.user_id == user.id, Enrolment.role == "student")
        .order_by(Course.code)
    ).all()
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
    rows = item_rows(assignment.items, user, assignment.score_policy)
    visible = [r for r in rows if not r.feedback_hidden]
    return {
        "title": assignment.title,
        "due_at": assignment.due_at,
        "past_due": assignment.due_at is not None and now > assignment.due_at,
        "points": assignment.points,
        "items": rows,
        "done": sum(1 for r in rows if r.attempts_used),
        "earned": sum((r.score or 0.0) * r.points for r in visible),
    }


@bp.get("/items/<int:item_id>")
def exercise(item_id: int) -> tuple[str, int]:
    user = page_student()
    item = student_item(item_id, user)
    return _exercise_page(item, user)


def _exercise_page(item: Item, user: User, status: int = 200, **form: Any) -> tuple[str, int]:
    session = get_session()
    instance = variants.instance_for(session, item, user.id)
    past = item_submissions(item, user)
    policy = item.assignment.score_policy if item.assignment else "best"
    row = item_rows([item], user, policy)[0]
    hidden = feedback_hidden(item, user)
    view = {
        **instance_view(item.kind, instance).__dict__,
        "item": item,
        "assignment": item.assignment,
        "reason": item.reason,
        "attempts_used": len(past),
        "attempts_left": None if item.max_attempts is None else max(0, item.max_attempts - len(past)),
        "score": None if hidden else row.score,
        "shown": shown(past[-1], hidden) if past else None,
    }
    return render_template("student/exercise.html", view=view, **form), status


@bp.post("/items/<int:item_id>/submit")
def submit(item_id: int) -> Response | tuple[str, int]:
    user = page_student()
    item = student_item(item_id, user)
    answer = request.form.get("answer", "")
    chosen = request.form.get("format", "auto")
    fmt = display.detect_format(answer) if chosen == "auto" else chosen
    form = {"answer_format": chosen}
    form["code_text" if fmt == "python" else "answer_text"] = answer
    problem = _answer_problem(answer, fmt)
    if problem:
        return _exercise_page(item, user, 422, form_error=problem, **form)
    session = get_session()
    config = current_app.config
    try:
        _submission, work = submissions.accept(
            session, user, item, answer, fmt,
            per_minute=config["SUBMISSIONS_PER_MINUTE"],
            owner=jobs.WORKER_ID,
            policy=jobs.JobPolicy.from_config(config),
        )
    except submissions.RateLimited as refused:
        session.rollback()
        return _exercise_page(item, user, 429, form_error=f"Not stored: {refused.message}.", **form)
    except submissions.Refused as refused:
        session.rollback()
        return _exercise_page(item, user, 409, form_error=f"Not stored: {refused.message}.", **form)
    session.commit()
    jobs.run(session, work, jobs.WORKER_ID, jobs.JobPolicy.from_config(config))
    flash("Your answer is stored.", "success")
    return redirect(url_for("pages.exercise", item_id=item.id, _anchor="verdict"))  # type: ignore[return-value]


def _answer_problem(answer: str, fmt: str) -> str | None:
    if fmt not in FORMAT_LABELS:
        return f"Choose a format: {', '.join(FORMAT_LABELS)}."
    if not answer.strip():
        return "The answer is empty: type or paste it in the box."
    if len(answer) > MAX_ANSWER_CHARS:
        return f"The answer is too long: at most {MAX_ANSWER_CHARS:,} characters."
    if "\x00" in answer:
        return "The answer contains a NUL character; paste it as plain text."
    return None


@bp.post("/items/<int:item_id>/preview")
def preview(item_id: int) -> str | tuple[str, int]:
    """How an answer is read, before it is graded: nothing stored, no attempt used."""
    user = page_user()
    item = student_item(item_id, user) if not user.is_instructor else None
    if item is None:
        return error_page(403, "The preview is for students answering an item.")
    answer = request.form.get("answer", "")
    chosen = request.form.get("format", "auto")
    fmt = display.detect_format(answer) if chosen == "auto" else chosen
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
        fmt_label=f"{fmt_label} ({NOTATION_LABELS.get(read.notation, read.notation)})",
    )


@bp.get("/items/<int:item_id>/history")
def history(item_id: int) -> str:
    user = page_student()
    item = student_item(item_id, user)
    hidden = feedback_hidden(item, user)
    attempts = [shown(s, hidden) for s in reversed(item_submissions(item, user))]
    view = {"item": item, "title": exercises.get(item.kind).title}
    return render_template("student/history.html", view=view, attempts=attempts)


@bp.get("/practice")
def practice() -> str:
    user = page_student()
    from grader.models import PracticeSet

    sets = get_session().scalars(
        sa.select(PracticeSet)
        .where(PracticeSet.user_id == user.id)
        .order_by(PracticeSet.created_at.desc(), PracticeSet.id.desc())
        .limit(10)
    ).all()
    return render_template(
        "student/practice.html",
        kinds=[(kind, exercise.title) for kind, exercise in exercises.KINDS.items()],
        sets=[
            {"id": s.id, "created_at": s.created_at, "items": item_rows(s.items, user)} for s in sets
        ],
    )


@bp.post("/practice")
def new_practice() -> Response | tuple[str, int]:
    page_student()
    return error_page(503, "Practice sets are not available yet.")

