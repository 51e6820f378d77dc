"""Instructors' tools for one assignment: regrading (dry run, then apply) and extensions."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Response, flash, redirect, render_template, request, url_for
from werkzeug.datastructures import MultiDict

from grader.service import extensions, gradebook, other_instance, regrade
from grader.service.db import get_session
from grader.service.instructor_models import Extension
from grader.service.models import Assignment
from grader.web.api import access
from grader.web.api.schemas import MAX_ID
from grader.web.pages.base import bp, not_found, page_instructor
from grader.web.pages.instructor import item_title

MAX_POINTS = 1000
MAX_ATTEMPTS = 1000


class FormProblem(ValueError):
    """A form field that cannot be used; the page says which and why."""


def instructed_assignment(assignment_id: int) -> Assignment:
    session = get_session()
    assignment = session.get(Assignment, assignment_id) if 1 <= assignment_id <= MAX_ID else None
    if assignment is None:
        not_found("This assignment")
    access.instructed_course(session, page_instructor(), assignment.course_id)
    return assignment


def _number(form: MultiDict[str, str], key: str, low: float, high: float, what: str) -> float | None:
    text = form.get(key, "").strip()
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        raise FormProblem(f"{what}: {text!r} is not a number") from None
    if not low <= value <= high:  # NaN included
        raise FormProblem(f"{what}: {text} is not between {low:g} and {high:g}")
    return value


def _whole(form: MultiDict[str, str], key: str, low: int, high: int, what: str) -> int | None:
    value = _number(form, key, low, high, what)
    if value is not None and not value.is_integer():
        raise FormProblem(f"{what}: {value:g} is not a whole number")
    return None if value is None else int(value)


def read_edits(assignment: Assignment, form: MultiDict[str, str]) -> list[regrade.ItemEdit]:
    """The item settings proposed in the form, where they differ from the item's."""
    edits = []
    for position, item in enumerate(assignment.items, start=1):
        what = f"item {position}"
        points = _number(form, f"points-{item.id}", 0.01, MAX_POINTS, f"{what}, points")
        attempts_text = form.get(f"attempts-{item.id}", "").strip().lower()
        unlimited = attempts_text == "unlimited"
        attempts = None if unlimited else _whole(
            form, f"attempts-{item.id}", 1, MAX_ATTEMPTS, f"{what}, attempts")
        points = None if points == item.points else points
        attempts = None if attempts == item.max_attempts else attempts
        unlimited = unlimited and item.max_attempts is not None
        if points is not None or attempts is not None or unlimited:
            edits.append(regrade.ItemEdit(item.id, points, attempts, unlimited))
    return edits


@bp.route("/assignments/<int:assignment_id>/regrade", methods=["GET", "POST"])
def regrade_page(assignment_id: int) -> str | tuple[str, int]:
    assignment = instructed_assignment(assignment_id)
    session = get_session()
    plan, applied, problem = None, False, None
    if request.method == "POST":
        try:
            edits = read_edits(assignment, request.form)
        except FormProblem as error:
            problem = str(error)
        else:
            plan = regrade.plan(session, assignment, edits)
            if request.form.get("action") == "apply":
                replaced = regrade.apply(session, plan, by=page_instructor().name)
                applied = True
                flash(f"Applied: {replaced} verdict(s) replaced, the old ones kept in the history; "
                      f"{len(plan.up)} student(s) went up, {len(plan.down)} down.", "success")
    page = render_template(
        "instructor/regrade.html", assignment=assignment, plan=plan, applied=applied,
        problem=problem, form=request.form, item_title=item_title,
    )
    return (page, 422) if problem else page


def _due(form: MultiDict[str, str]) -> datetime | None:
    text = form.get("due_at", "").strip()
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise FormProblem(f"the due date {text!r} is not a date and time (2026-12-24T17:00)") from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


@bp.route("/assignments/<int:assignment_id>/extensions", methods=["GET", "POST"])
def extensions_page(assignment_id: int) -> str | tuple[str, int] | Response:
    assignment = instructed_assignment(assignment_id)
    session = get_session()
    students = gradebook.students(session, assignment.course_id)
    problem = None
    if request.method == "POST":
        try:
            user_id = _whole(request.form, "user_id", 1, MAX_ID, "student")
            if user_id not in {user.id for user, _ in students}:
                raise FormProblem("choose one of the course's students")
            item_text = request.form.get("item_id", "")
            item_id = _whole(request.form, "item_id", 1, MAX_ID, "item") if item_text else None
            extra = _whole(request.form, "extra_attempts", 0, MAX_ATTEMPTS, "extra attempts") or 0
            due_at = _due(request.form)
            if due_at is None and extra == 0:
                raise FormProblem("give a later due date, extra attempts, or both")
            extensions.grant(session, assignment, user_id, item_id=item_id, due_at=due_at,
                             extra_attempts=extra)
        except (FormProblem, ValueError) as error:
            session.rollback()
            problem = str(error)
        else:
            session.commit()
            flash("Extension saved; that student's submissions follow their own dates now.", "success")
            return redirect(url_for("pages.extensions_page", assignment_id=assignment.id))  # type: ignore[return-value]
    names = {user.id: user.display_name for user, _ in students}
    page = render_template(
        "instructor/extensions.html", assignment=assignment, students=students, names=names,
        found=extensions.of_assignment(session, assignment.id), problem=problem,
        form=request.form, item_title=item_title,
    )
    return (page, 422) if problem else page


@bp.post("/extensions/<int:extension_id>/delete")
def delete_extension(extension_id: int) -> Response:
    session = get_session()
    extension = session.get(Extension, extension_id) if 1 <= extension_id <= MAX_ID else None
    if extension is None:
        not_found("This extension")
    assignment = instructed_assignment(extension.assignment_id)
    extensions.revoke(session, assignment, extension)
    session.commit()
    flash("Extension taken back.", "success")
    return redirect(url_for("pages.extensions_page", assignment_id=assignment.id))  # type: ignore[return-value]


@bp.get("/assignments/<int:assignment_id>/other-instances")
def other_instances_page(assignment_id: int) -> str:
    assignment = instructed_assignment(assignment_id)
    found = other_instance.matches(get_session(), assignment.items)
    positions = {item.id: item.position + 1 for item in assignment.items}
    return render_template("instructor/other_instances.html", assignment=assignment, found=found,
                           positions=positions, item_title=item_title)
