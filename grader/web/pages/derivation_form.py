"""An instructor adds a derivation to an assignment, from the course page."""

from __future__ import annotations

from flask import Response, flash, redirect, request, url_for
from pydantic import ValidationError

from exercises import InstanceError
from exercises.derivations import PRESETS, draw_shared, preset
from grader.service import derivations
from grader.service.db import get_session
from grader.web.api.schemas import DerivationIn
from grader.web.pages.base import bp
from grader.web.pages.instructor_tools import instructed_assignment


@bp.app_template_global("derivation_presets")
def derivation_presets() -> list[tuple[str, str]]:
    """The derivations an instructor may add, for the course page's form."""
    return [(name, chosen.title) for name, chosen in PRESETS.items()]


@bp.post("/assignments/<int:assignment_id>/derivations")
def add_derivation(assignment_id: int) -> Response:
    session = get_session()
    assignment = instructed_assignment(assignment_id)
    back = url_for("pages.course", course_id=assignment.course_id, _anchor=f"assignment-{assignment.id}")
    try:
        form = DerivationIn(
            preset=request.form.get("preset", ""),
            share=float(request.form.get("share_percent", "75")) / 100,
            points=float(request.form.get("points", "1")),
            n=int(request.form["n"]) if request.form.get("n") else None,
            K=int(request.form["K"]) if request.form.get("K") else None,
        )
        draw_shared(preset(form.preset), 0, form.n, form.K)
    except (ValueError, ValidationError, InstanceError) as error:
        message = error.errors()[0]["msg"] if isinstance(error, ValidationError) else str(error)
        flash(f"The derivation is not added: {message}.", "error")
        return redirect(back)  # type: ignore[return-value]
    derivation = derivations.create(
        session, assignment, form.preset, share=form.share, n=form.n, K=form.K, points=form.points
    )
    session.commit()
    flash(f"“{derivation.title}” is added to “{assignment.title}”: {len(derivation.parts)} parts.", "success")
    return redirect(back)  # type: ignore[return-value]
