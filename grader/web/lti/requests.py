"""The instructors' page of join requests: a student's join refused because both of their
accounts answered the same questions, decided here question by question (see
:mod:`grader.service.lti.join_requests`)."""

from __future__ import annotations

from flask import Response, flash, redirect, render_template, request, url_for

from grader.service.db import get_session
from grader.service.lti import join_requests, linking, merging
from grader.service.lti.models import JoinRequest
from grader.web.lti import bp
from grader.web.pages.base import not_found, page_instructor

CHOICE_FIELD = "counts-{}"


def _page(error: str | None = None, status: int = 200, about: int | None = None) -> tuple[str, int]:
    """The page; ``error`` at the request ``about`` (at its choices, the first focused) while it
    is still pending, else at the top."""
    session = get_session()
    instructor = page_instructor()
    taught = join_requests.taught_courses(session, instructor)
    states = join_requests.pending_for(session, instructor)
    page = render_template(
        "lti/join_requests.html",
        states=[(state, join_requests.may_resolve(state, taught)) for state in states],
        choice_field=CHOICE_FIELD,
        error=error,
        error_at=about if any(state.request.id == about for state in states) else None,
    )
    return page, status


@bp.get("/lti/join-requests")
def join_requests_page() -> tuple[str, int]:
    return _page()


@bp.post("/lti/join-requests/<int:request_id>")
def resolve_join_request(request_id: int) -> Response | tuple[str, int]:
    """Join the request's accounts with the choices made on the page."""
    instructor = page_instructor()
    session = get_session()
    asked = session.get(JoinRequest, request_id)
    state = None if asked is None else join_requests.state_of(session, asked)
    if state is None or not join_requests.concerns(state, join_requests.taught_courses(session, instructor)):
        not_found("This join request")
    keep = {}
    for field, chosen in request.form.items():
        question = field.removeprefix(CHOICE_FIELD.format(""))
        if question != field and question.isdigit() and len(question) < 10:
            keep[int(question)] = chosen
    try:
        record = join_requests.resolve(session, state.request, instructor, keep,
                                       request.form.get("fingerprint", ""), state)
    except join_requests.NotTaught as not_taught:
        return _page(f"Not joined: {not_taught}.", 403, request_id)
    except join_requests.NotPending as done:
        return _page(f"Not joined: {done}.", 409)
    except merging.HoldingsChanged:
        session.rollback()
        return _page("Not joined: the student's answers changed since the page was shown. Check the "
                     "questions below as they are now, and choose again.", 409, request_id)
    except merging.ChoicesUnclear as unclear:
        session.rollback()
        return _page(f"Not joined: choose whose record counts for every question ({unclear}).", 422,
                     request_id)
    except linking.CannotLink as cannot:
        session.rollback()
        return _page(f"Not joined: {cannot}.", 409, request_id)
    session.commit()
    flash(f"Joined: {record.from_name} into {record.into_user.name}; the answers not chosen are set apart, "
          "and listed on the student's record.", "success")
    return redirect(url_for("lti.join_requests_page"))  # type: ignore[return-value]
