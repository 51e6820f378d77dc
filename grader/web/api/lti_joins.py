"""Joins: the student's own, of the account the LMS made into their older one, and the requests
an instructor decides when both accounts answered the same questions (see
:mod:`grader.service.lti.join_requests`)."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import sqlalchemy as sa
import sqlalchemy.orm as so
from spectree import Response

from grader.service import accounts
from grader.service.db import get_session
from grader.service.lti import join_requests, linking, merging
from grader.service.lti.models import AccountMerge, JoinRequest
from grader.service.models import User
from grader.web.api import bp
from grader.web.api.access import load
from grader.web.api.present import user_out
from grader.web.api.schemas import (
    ConflictOut,
    ErrorBody,
    ErrorOut,
    HoldingsOut,
    JoinDecisionIn,
    JoinIn,
    JoinOut,
    JoinRefusedOut,
    JoinRequestOut,
    JoinRequestsOut,
    SideOut,
)
from grader.web.api.spec import spec
from grader.web.auth import current_user
from grader.web.errors import ApiError, forbidden, invalid, not_found
from grader.web.limits import login_per_account, login_per_address

ERRORS = {"HTTP_401": ErrorOut, "HTTP_403": ErrorOut, "HTTP_404": ErrorOut}
ONLY_LMS_ACCOUNTS = "only an account your LMS made is joined to another one"


def holdings_out(held: merging.Holdings) -> HoldingsOut:
    return HoldingsOut(**asdict(held), fingerprint=held.fingerprint)


def join_out(record: AccountMerge) -> JoinOut:
    return JoinOut(from_name=record.from_name, into=user_out(record.into_user), merged_at=record.merged_at,
                   moved=record.moved)


def conflict_out(conflict: merging.Conflict) -> ConflictOut:
    return ConflictOut(
        question_id=conflict.question_id, question=conflict.name, course_id=conflict.course_id,
        item_ids=list(conflict.item_ids), lms=SideOut(**asdict(conflict.lms)),
        older=SideOut(**asdict(conflict.older)),
    )


def request_out(
    request: JoinRequest, taught: set[int], state: join_requests.RequestState | None = None
) -> JoinRequestOut:
    """The request as ``taught``'s instructor sees it; ``state``: as it stands now (a pending one)."""
    if state is not None:
        conflicts, course_ids = [conflict_out(c) for c in state.conflicts], state.course_ids
    else:
        conflicts = [
            ConflictOut(question_id=c["question_id"], question=c["question"], course_id=c["course_id"],
                        item_ids=c["item_ids"], lms=None, older=None)
            for c in request.conflicts
        ]
        course_ids = {c.course_id for c in conflicts}
    return JoinRequestOut(
        id=request.id,
        status=request.state,  # type: ignore[arg-type]
        requested_at=request.requested_at,
        resolved_at=request.resolved_at,
        lms_account=user_out(request.lms_user),
        older_account=user_out(request.target_user),
        conflicts=conflicts,
        course_ids=sorted(course_ids),
        fingerprint=state.fingerprint if state is not None else None,
        may_resolve=request.state == join_requests.PENDING and course_ids <= taught,
        choices=request.choices,
    )


def refused(
    code: str, message: str, holdings: HoldingsOut | None = None, join_request: JoinRequestOut | None = None
) -> tuple[JoinRefusedOut, int]:
    """A join not done (409): the error, with the state it was refused on."""
    error = ErrorBody(code=code, message=message)
    return JoinRefusedOut(error=error, holdings=holdings, join_request=join_request), 409


def _state(session: so.Session, request: JoinRequest) -> join_requests.RequestState | None:
    return join_requests.state_of(session, request) if request.state == join_requests.PENDING else None


@dataclass(frozen=True)
class _Seen:
    """A request as a viewer may see it: the courses they teach, and its state while pending."""

    request: JoinRequest
    taught: set[int]
    state: join_requests.RequestState | None

    def out(self) -> JoinRequestOut:
        return request_out(self.request, self.taught, self.state)


def _visible(session: so.Session, viewer: User, request_id: int) -> _Seen:
    """A request the viewer may see: a party to it, or an instructor of one of its courses."""
    request = load(session, JoinRequest, request_id, "join request")
    taught = join_requests.taught_courses(session, viewer)
    own = viewer.id in (request.lms_user_id, request.target_user_id)
    state = _state(session, request)
    courses = state.course_ids if state is not None else {int(c["course_id"]) for c in request.conflicts}
    if not own and not courses & taught:
        raise not_found(f"join request {request_id}")
    return _Seen(request, taught, state)


@bp.get("/lti/join")
@spec.validate(resp=Response(HTTP_200=HoldingsOut, **ERRORS), tags=["lti"])
def get_join() -> HoldingsOut:
    """What the caller's account, one the LMS made, holds: what a join moves, and the fingerprint
    that confirms it."""
    session = get_session()
    user = session.get_one(User, current_user().id)
    if not linking.may_link(session, user):
        raise forbidden(ONLY_LMS_ACCOUNTS)
    return holdings_out(merging.holdings(session, user))


@bp.post("/lti/join")
@login_per_account  # the older account's password is guessed no faster than at a login
@login_per_address
@spec.validate(
    json=JoinIn,
    resp=Response(HTTP_200=JoinOut, HTTP_409=JoinRefusedOut, HTTP_422=ErrorOut, HTTP_429=ErrorOut, **ERRORS),
    tags=["lti"],
)
def join(json: JoinIn) -> JoinOut | tuple[JoinRefusedOut, int]:
    """Join the caller's account, one the LMS made, to the older account named (its password
    proves it the caller's): everything it holds moves there, and the LMS opens the older account
    from then on; the caller's tokens and sessions end.

    409 ``holdings_changed`` with what it holds now when that is not the confirmed ``holdings``;
    409 ``both_answered`` when both accounts answered the same questions: nothing moves, and the
    ``join_request`` made asks an instructor of their courses to choose whose record counts.
    """
    session = get_session()
    user = session.get_one(User, current_user().id)
    if not linking.may_link(session, user):
        raise forbidden(ONLY_LMS_ACCOUNTS)
    target = accounts.authenticate(session, json.name.strip(), json.password)
    if target is None:
        raise ApiError(401, "bad_login", "the user name and password of your other account do not match")
    try:
        # compared under both accounts' locks: an answer from another tab may come between
        record = linking.link(session, user, target, confirmed=json.holdings)
    except merging.HoldingsChanged as changed:
        session.rollback()
        return refused("holdings_changed", "not joined: what this account holds changed since it "
                       "was shown; confirm the counts as they are now", holdings=holdings_out(changed.held))
    except linking.BothAnswered as both:
        request = join_requests.ask(session, user, target, both.conflicts)
        session.commit()
        return refused(
            "both_answered",
            f"not joined yet: {both}. Your instructor has been asked to choose; the join is done when "
            "they have, and until then you may withdraw the request",
            join_request=request_out(request, set(), join_requests.state_of(session, request)),
        )
    except linking.CannotLink as cannot:
        session.rollback()
        raise ApiError(409, "cannot_join", f"not joined: {cannot}") from None
    session.commit()
    return join_out(record)


@bp.get("/lti/join-requests")
@spec.validate(resp=Response(HTTP_200=JoinRequestsOut, **ERRORS), tags=["lti"])
def list_join_requests() -> JoinRequestsOut:
    """The pending join requests the caller may see: their own, and those with a question in a
    course they teach (``may_resolve``: every one of its questions is), oldest first."""
    session = get_session()
    viewer = session.get_one(User, current_user().id)
    taught = join_requests.taught_courses(session, viewer)
    states = {state.request.id: state for state in join_requests.pending_for(session, viewer)}
    own = session.scalars(
        sa.select(JoinRequest).where(
            JoinRequest.state == join_requests.PENDING,
            sa.or_(JoinRequest.lms_user_id == viewer.id, JoinRequest.target_user_id == viewer.id),
        )
    )
    for request in own:
        states.setdefault(request.id, join_requests.state_of(session, request))
    ordered = sorted(states.values(), key=lambda s: (s.request.requested_at, s.request.id))
    return JoinRequestsOut(requests=[request_out(s.request, taught, s) for s in ordered])


@bp.get("/lti/join-requests/<int:request_id>")
@spec.validate(resp=Response(HTTP_200=JoinRequestOut, **ERRORS), tags=["lti"])
def get_join_request(request_id: int) -> JoinRequestOut:
    """A join request: to the student (either account) and to the instructors of its courses."""
    return _visible(get_session(), get_session().get_one(User, current_user().id), request_id).out()


@bp.post("/lti/join-requests/<int:request_id>/resolve")
@spec.validate(
    json=JoinDecisionIn,
    resp=Response(HTTP_200=JoinOut, HTTP_409=JoinRefusedOut, HTTP_422=ErrorOut, **ERRORS),
    tags=["lti"],
)
def resolve_join_request(request_id: int, json: JoinDecisionIn) -> JoinOut | tuple[JoinRefusedOut, int]:
    """Join the request's accounts, choosing for each question both answered whose record counts
    (``lms`` or ``older``); the other record is set apart, never deleted: it counts for nothing and
    the record of the join lists it. Only an instructor of every course concerned decides.

    409 ``changed`` with the request as it stands when its ``fingerprint`` is no longer the one
    shown (an answer since, by either account); 409 ``not_pending`` once joined or withdrawn.
    """
    session = get_session()
    viewer = session.get_one(User, current_user().id)
    seen = _visible(session, viewer, request_id)
    keep = {choice.question_id: choice.counts for choice in json.choices}
    if len(keep) != len(json.choices):
        raise invalid("choices: each question is named once")
    try:
        record = join_requests.resolve(session, seen.request, viewer, keep, json.fingerprint, seen.state)
    except join_requests.NotTaught as not_taught:
        raise forbidden(str(not_taught)) from None
    except join_requests.NotPending as done:
        raise ApiError(409, "not_pending", str(done)) from None
    except merging.HoldingsChanged:
        session.rollback()
        request = session.get_one(JoinRequest, request_id)
        now = request_out(request, seen.taught, join_requests.state_of(session, request))
        return refused("changed", "not joined: the accounts' answers changed since the request was "
                       "shown; choose again on the request as it is now", join_request=now)
    except merging.ChoicesUnclear as unclear:
        session.rollback()
        raise invalid(f"choices: {unclear}") from None
    except linking.CannotLink as cannot:
        session.rollback()
        raise ApiError(409, "cannot_join", f"not joined: {cannot}") from None
    session.commit()
    return join_out(record)


@bp.post("/lti/join-requests/<int:request_id>/withdraw")
@spec.validate(resp=Response(HTTP_200=JoinRequestOut, HTTP_409=ErrorOut, **ERRORS), tags=["lti"])
def withdraw_join_request(request_id: int) -> JoinRequestOut:
    """The student takes back their pending request (from either account)."""
    session = get_session()
    viewer = session.get_one(User, current_user().id)
    seen = _visible(session, viewer, request_id)
    if viewer.id not in (seen.request.lms_user_id, seen.request.target_user_id):
        raise forbidden("only the student who asked withdraws a join request")
    try:
        join_requests.withdraw(session, seen.request)
    except join_requests.NotPending as done:
        raise ApiError(409, "not_pending", str(done)) from None
    session.commit()
    return request_out(seen.request, seen.taught)
