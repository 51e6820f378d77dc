"""An account the LMS made, joined to the account its user had here before (see
:mod:`grader.service.lti.linking`): the page counts what will move, and they log in to the
older one to prove it theirs and confirm."""

from __future__ import annotations

from flask import Response, abort, flash, g, redirect, render_template, request, url_for

from grader.service import accounts
from grader.service.db import get_session
from grader.service.lti import join_requests, linking, merging
from grader.service.lti.models import JoinRequest
from grader.web.auth import login_user
from grader.web.limits import login_per_account, login_per_address
from grader.web.lti import bp
from grader.web.pages.auth import MAX_NAME, MAX_PASSWORD
from grader.web.pages.base import page_user

#: the fields a user name and password that do not match are about
CREDENTIALS = ("name", "password")


@bp.app_template_global("account_to_join")
def account_to_join() -> bool:
    """Whether the logged-in account is one the LMS made (the start page offers to join it)."""
    user = g.get("user")
    # an account with a password was not made by a launch: no query for it
    return user is not None and user.password_hash is None and linking.may_link(get_session(), user)


@bp.route("/lti/join-account", methods=["GET", "POST"])
@login_per_account  # the password of the account named is guessed no faster than at /login
@login_per_address
def join_account() -> Response | str | tuple[str, int]:
    user = page_user()
    session = get_session()
    if not linking.may_link(session, user):
        abort(403, "Only an account your LMS made is joined to another one.")
    held = merging.holdings(session, user)
    if request.method == "GET":
        return _page(held)
    name = request.form.get("name", "").strip()[:MAX_NAME]
    password = request.form.get("password", "")[:MAX_PASSWORD]
    target = accounts.authenticate(session, name, password) if name and password else None
    if target is None:
        error = (
            "Enter the user name and the password of your other account."
            if not name or not password
            else "That user name and password do not match. Check them and try again."
        )
        return _page(held, error=error, name=name, invalid=CREDENTIALS), 401
    try:
        # compared under the accounts' locks: an answer from another tab may come between
        linking.link(session, user, target, confirmed=request.form.get("holdings", ""))
    except merging.HoldingsChanged as changed:
        session.rollback()
        error = ("Not joined: what this account holds changed since the page was shown (an answer "
                 "from another tab?). Check what will move below, then confirm again.")
        return _page(changed.held, error=error, name=name), 409
    except linking.BothAnswered as both:
        join_requests.ask(session, user, target, both.conflicts)
        session.commit()
        error = (f"Not joined yet: {both}. Your instructor has been asked to choose, for each, whose "
                 "answers count; the join is done when they have. Until then you may withdraw the request.")
        return _page(held, error=error, name=name), 409
    except linking.CannotLink as refused:
        session.rollback()
        return _page(held, error=f"Not joined: {refused}.", name=name, invalid=("name",)), 409
    session.commit()
    login_user(target)
    moved = f" with {held.answers} answer{'' if held.answers == 1 else 's'}" if held.answers else ""
    flash(f"Joined{moved}: your LMS opens {target.name} from now on, in every course it sends you to.",
          "success")
    return redirect(url_for("pages.index"))  # type: ignore[return-value]


def _page(held: merging.Holdings, invalid: tuple[str, ...] = (), **shown: str) -> str:
    """The join page, with the account's pending request (if any) and the form; the fields
    ``invalid`` are marked so, described by the error, and the first has the focus."""
    waiting = join_requests.pending_of(get_session(), page_user().id)
    return render_template("lti/join_account.html", held=held, waiting=waiting, invalid=invalid, **shown)


@bp.post("/lti/join-requests/<int:request_id>/withdraw")
def withdraw_join_request(request_id: int) -> Response:
    """The student takes back the request their join made for an instructor."""
    user = page_user()
    session = get_session()
    asked = session.get(JoinRequest, request_id)
    if asked is None or user.id not in (asked.lms_user_id, asked.target_user_id):
        abort(404)
    try:
        join_requests.withdraw(session, asked)
    except join_requests.NotPending as done:
        flash(f"Nothing to withdraw: {done}.", "error")
    else:
        session.commit()
        flash("Withdrawn: your instructor will not be asked to choose. Your accounts stay apart.", "success")
    return redirect(url_for("lti.join_account" if user.password_hash is None else "pages.index"))  # type: ignore[return-value]
