"""A student's derivation: its parts (a), (b), ... on one page, each answered in place."""

from __future__ import annotations

from typing import Any

from flask import Response, current_app, flash, redirect, render_template, request, url_for

import exercises
from exercises import InstanceError
from grader.judge.answers.detect import detect_format
from grader.judge.verdict import FORMATS
from grader.service import derivations, extensions, submissions, variants
from grader.service.db import get_session
from grader.service.models import Derivation, Item, User
from grader.service.queue import grading_queue
from grader.web.api import access
from grader.web.api.schemas import MAX_ID
from grader.web.limits import runs_functions
from grader.web.pages import draws
from grader.web.pages.base import bp, error_page, not_found, page_student, taught_here
from grader.web.pages.display import instance_view, submission_view, text_problem

# what a part answers in place: everything the judge reads but a function
TYPED_FORMATS = tuple(fmt for fmt in FORMATS if fmt != "python")
FORMAT_CHOICES = {"text": "Text (numpy, MATLAB, LaTeX, rows)", "json": "JSON", "formula": "A formula"}


def student_derivation(derivation_id: int, user: User) -> Derivation:
    """A derivation of a course the user studies in, or of one of their own practice sets;
    else 404 (403 in a course they teach), as for an item."""
    session = get_session()
    derivation = session.get(Derivation, derivation_id) if 1 <= derivation_id <= MAX_ID else None
    if derivation is None:
        not_found("This derivation")
    if derivation.practice_set is not None:
        if derivation.practice_set.user_id != user.id:
            not_found("This derivation")
        return derivation
    assert derivation.assignment is not None
    role = access.course_role(session, user.id, derivation.assignment.course_id)
    if role == "instructor":
        taught_here("This derivation")
    if role != "student":
        not_found("This derivation")
    return derivation


@bp.get("/derivations/<int:derivation_id>")
def derivation_page(derivation_id: int) -> tuple[str, int]:
    user = page_student()
    return _page(student_derivation(derivation_id, user), user)


def _page(derivation: Derivation, user: User, status: int = 200, **form: Any) -> tuple[str, int]:
    session = get_session()
    # each part's numbers and the draw its form sends, read together
    drawn = variants.drawn_for_each(session, derivation.parts, user.id)
    instances = {item_id: part.instance for item_id, part in drawn.items()}
    parts = []
    for view in derivations.parts_of(session, derivation, user.id, instances):
        exercise = exercises.get(view.item.kind)
        answered = draws.answered(session, view.item, user, view.answers, drawn[view.item.id])
        parts.append({
            "letter": view.letter,
            "item": view.item,
            "title": exercise.title,
            "statement": exercise.statement(view.instance).text,
            "expected_shape": exercise.expected_shape(view.instance),
            "last_attempt": submission_view(view.latest, user) if view.latest is not None else None,
            "changed_since": view.changed_since,
            "earlier_answers": answered.earlier,  # to the values before a re-draw
            "draw_number": drawn[view.item.id].draw_number,
            "instance_digest": drawn[view.item.id].digest,
        })
    shared = derivations.shared_instance(derivation, instances)
    draw_number = drawn[derivation.parts[0].id].draw_number  # every part is on the same draw
    return render_template(
        "student/derivation.html",
        derivation=derivation,
        redrawn=draw_number > 0,
        draw_number=draw_number,
        view=instance_view(shared["kind"], shared),
        parts=parts,
        formats=[("auto", "Detect it for me")] + [(f, FORMAT_CHOICES.get(f, f)) for f in TYPED_FORMATS],
        **form,
    ), status


@bp.post("/derivations/<int:derivation_id>/parts/<letter>/submit")
@runs_functions
def submit_part(derivation_id: int, letter: str) -> Response | tuple[str, int]:
    user = page_student()
    derivation = student_derivation(derivation_id, user)
    parts = {derivations.part_letter(part): part for part in derivation.parts}
    if letter not in parts:
        not_found("This part")
    answer = request.form.get("answer", "")
    chosen = request.form.get("format", "auto")
    fmt = detect_format(answer) if chosen == "auto" else chosen
    form = {"form_part": letter, "answer_text": answer}
    problem = _answer_problem(answer, fmt)
    if problem:
        return _page(derivation, user, 422, form_error=problem, **form)
    try:
        submission = submissions.submit(
            get_session(), user, parts[letter], answer, fmt,
            queue=grading_queue(), per_minute=current_app.config["SUBMISSIONS_PER_MINUTE"],
            draw_number=draws.sent_draw(request.form), instance_digest=draws.sent_digest(request.form),
        )
    except submissions.StaleDraw:
        return _page(derivation, user, 409, form_error=_stale_answer(parts[letter], user), **form)
    except submissions.RateLimited as refused:
        return _page(derivation, user, 429, form_error=f"Not stored: {refused.message}.", **form)
    except submissions.Refused as refused:
        return _page(derivation, user, 409, form_error=f"Not stored: {refused.message}.", **form)
    except InstanceError as error:
        return error_page(422, f"This part cannot be drawn: {error}. Tell your instructor.")
    grading_queue().grade_now(submission.job)
    flash(f"Your answer to part ({letter}) is stored.", "success")
    target = url_for("pages.derivation_page", derivation_id=derivation.id, _anchor=f"part-{letter}")
    return redirect(target)  # type: ignore[return-value]


def _stale_answer(part: Item, user: User) -> str:
    """What the page says of an answer to values since re-drawn, by the attempts left on the part."""
    session = get_session()
    used = submissions.attempts_used(session, part.id, user.id)
    return draws.stale_answer(extensions.allowance(session, part, user.id).attempts_left(used))


def _answer_problem(answer: str, fmt: str) -> str | None:
    if fmt not in TYPED_FORMATS:
        return "Answer with a matrix or vector here; a function goes on the part's own page."
    return text_problem(answer)
