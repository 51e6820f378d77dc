"""A student's practice: the sets chosen for them, single items and whole derivations, and
another version of any of them on new numbers."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import Response, flash, redirect, render_template, request, url_for

import exercises
from exercises.derivations import PRESETS, letter
from grader.service import practice, practice_derivations
from grader.service.db import get_session
from grader.service.models import Derivation, Item, PracticeSet, User
from grader.web.pages import draws
from grader.web.pages.base import bp, error_page, page_student
from grader.web.pages.derivation import student_derivation
from grader.web.pages.student import item_rows, student_item

DEFAULT_PRACTICE_COUNT = 5
MAX_PRACTICE_COUNT = 20


@bp.get("/practice")
def practice_page() -> str:
    user = page_student()
    sets = (
        get_session()
        .scalars(
            sa.select(PracticeSet)
            .where(PracticeSet.user_id == user.id)
            .order_by(PracticeSet.created_at.desc(), PracticeSet.id.desc())
            .limit(10)
        )
        .all()
    )
    return render_template(
        "student/practice.html",
        kinds=[(kind, exercise.title) for kind, exercise in exercises.KINDS.items()],
        presets=[(name, chosen.title) for name, chosen in PRESETS.items()],
        max_derivations=practice_derivations.MAX_COUNT,
        sets=[
            {
                "id": s.id,
                "created_at": s.created_at,
                "rows": item_rows(s.single_items, user),
                "derivations": [_derivation_summary(d, user) for d in s.derivations],
            }
            for s in sets
        ],
    )


def _derivation_summary(derivation: Derivation, user: User) -> dict[str, Any]:
    """A practice derivation as its set lists it: its parts' standing, and why it was chosen."""
    cells = practice.standing(get_session(), derivation.parts, user.id)
    parts = [
        {
            "letter": letter(i),
            "title": exercises.get(part.kind).title,
            "score": cells[part.id].score,
            "attempts": cells[part.id].attempts,
        }
        for i, part in enumerate(derivation.parts)
    ]
    return {
        "id": derivation.id,
        "title": derivation.title,
        "reason": derivation.reason,
        "parts": parts,
        "done": sum(1 for part in parts if part["attempts"]),
        "right": sum(1 for part in parts if part["score"] == 1),
    }


@bp.post("/practice")
def new_practice() -> Response | tuple[str, int]:
    user = page_student()
    kinds = [kind for kind in request.form.getlist("kinds") if kind]
    unknown = [kind for kind in kinds if kind not in exercises.KINDS]
    presets = [name for name in request.form.getlist("presets") if name]
    unknown += [name for name in presets if name not in PRESETS]
    try:
        count = int(request.form.get("count", DEFAULT_PRACTICE_COUNT))
        chosen = request.form.get("derivations", "")
        derivation_count = int(chosen) if chosen else None  # "": as chosen for the student
    except ValueError:
        count, derivation_count = -1, None
    with_derivation = bool(derivation_count) or (derivation_count is None and bool(presets))
    lowest = 0 if with_derivation else 1
    if (
        unknown
        or not lowest <= count <= MAX_PRACTICE_COUNT
        or not 0 <= (derivation_count or 0) <= practice_derivations.MAX_COUNT
    ):
        flash(
            f"Choose kinds and derivations from the lists, between 1 and {MAX_PRACTICE_COUNT} questions "
            f"(or none beside a derivation), and at most {practice_derivations.MAX_COUNT} derivations.",
            "error",
        )
        return redirect(url_for("pages.practice_page"))  # type: ignore[return-value]
    session = get_session()
    practice_set = practice.create_set(
        session, user.id, kinds or None, count, derivation_count=derivation_count, presets=presets or None
    )
    session.commit()
    flash(f"A new practice set of {_set_size(practice_set)} is ready.", "success")
    return redirect(url_for("pages.practice_page", _anchor=f"set-{practice_set.id}"))  # type: ignore[return-value]


def _set_size(practice_set: PracticeSet) -> str:
    """"5 questions and 1 derivation", in words."""
    questions, chains = len(practice_set.single_items), len(practice_set.derivations)
    said = [f"{questions} question{'' if questions == 1 else 's'}"] if questions else []
    if chains:
        said.append(f"{chains} derivation{'' if chains == 1 else 's'}")
    return " and ".join(said)


NOT_PRACTICE = ("Only a practice question is drawn again at your asking: your instructor gives you new "
                "values for an assignment's.")


@bp.post("/items/<int:item_id>/another-version")
def another_item_version(item_id: int) -> Response | tuple[str, int]:
    user = page_student()
    item = student_item(item_id, user)
    if item.practice_set is None:
        return error_page(403, NOT_PRACTICE)
    _another_version(item, user)
    if item.derivation_id is not None:  # every part moved: the derivation shows them together
        target = url_for("pages.derivation_page", derivation_id=item.derivation_id)
    else:
        target = url_for("pages.exercise", item_id=item.id)
    return redirect(target)  # type: ignore[return-value]


@bp.post("/derivations/<int:derivation_id>/another-version")
def another_derivation_version(derivation_id: int) -> Response | tuple[str, int]:
    user = page_student()
    derivation = student_derivation(derivation_id, user)
    if derivation.practice_set is None:
        return error_page(403, NOT_PRACTICE)
    _another_version(derivation.parts[0], user)
    return redirect(url_for("pages.derivation_page", derivation_id=derivation.id))  # type: ignore[return-value]


def _another_version(item: Item, user: User) -> None:
    """Draw another version, unless the page it was asked from showed one that is gone already
    (a second click, another tab): a student who asked once gets one new version."""
    session = get_session()
    try:
        practice.another_version(session, item, draws.sent_draw(request.form))
    except practice.StaleVersion:
        flash("This question had a new version already: here it is.", "info")
        return
    session.commit()
    flash("Another version: the given values are new. Your earlier answers stay in your history, "
          "marked as answers to an earlier question.", "success")
