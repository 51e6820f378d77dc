"""A join refused for items both accounts answered, put to an instructor to decide.

When a student joins the account the LMS made to their older one (:func:`linking.link`) and
both answered the same assignment item, no grade can be made of the two records without an
instructor's choice. The student has proved both accounts theirs by then (the LMS launch, the
older account's password), so the refusal is recorded as a :class:`JoinRequest`: the two
accounts, the items, when. An instructor of those items' courses sees it, chooses for each
item whose record counts (the LMS account's or the older account's), and confirms: the join
then runs with those choices (:func:`resolve`), and the other records are set apart (see
:mod:`merging`). The student may withdraw a pending request.

A request is decided on what the instructor was shown (:attr:`RequestState.fingerprint`): an
answer given since, by either account, changes it, and the join, which compares it under
both accounts' locks, is refused with the new state.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
import sqlalchemy.orm as so

from grader.service.lti import linking, merging
from grader.service.lti.models import AccountMerge, JoinRequest
from grader.service.models import Course, Enrolment, User, utcnow

PENDING, JOINED, WITHDRAWN = "pending", "joined", "withdrawn"


class NotPending(ValueError):
    """The request was joined or withdrawn already."""


class NotTaught(PermissionError):
    """The instructor does not teach every course of the items to decide."""


@dataclass(frozen=True)
class RequestState:
    """A request as it stands now: what the LMS account holds and the items both answered."""

    request: JoinRequest
    held: merging.Holdings
    conflicts: list[merging.Conflict]

    @property
    def fingerprint(self) -> str:
        return merging.state_fingerprint(self.held, self.conflicts)

    @property
    def course_ids(self) -> set[int]:
        """The courses of the items to decide (as asked, while none is left to decide)."""
        now = {conflict.course_id for conflict in self.conflicts}
        return now or {int(c["course_id"]) for c in self.request.conflicts}


def recorded(conflicts: list[merging.Conflict]) -> list[dict[str, object]]:
    """The items both answered, as a request records them."""
    return [
        {"question_id": c.question_id, "question": c.name, "course_id": c.course_id,
         "item_ids": list(c.item_ids)}
        for c in conflicts
    ]


def pending_of(session: so.Session, lms_user_id: int) -> JoinRequest | None:
    """The LMS account's pending request, if any."""
    return session.scalar(
        sa.select(JoinRequest).where(JoinRequest.lms_user_id == lms_user_id, JoinRequest.state == PENDING)
    )


def ask(session: so.Session, lms_user: User, target: User, conflicts: list[merging.Conflict]) -> JoinRequest:
    """Record that ``lms_user``'s join into ``target`` waits for an instructor (its pending request
    brought up to date, if it has one); flushes, in the transaction of the refused join, under
    its locks. The caller commits."""
    request = pending_of(session, lms_user.id)
    if request is None:
        request = JoinRequest(lms_user_id=lms_user.id, target_user_id=target.id, conflicts=[])
        session.add(request)
    request.target_user_id = target.id
    request.conflicts = recorded(conflicts)
    request.requested_at = utcnow()
    session.flush()
    return request


def state_of(session: so.Session, request: JoinRequest) -> RequestState:
    held = merging.holdings(session, request.lms_user)
    return RequestState(request, held, merging.plan(session, request.lms_user, request.target_user).conflicts)


def taught_courses(session: so.Session, user: User) -> set[int]:
    return set(session.scalars(
        sa.select(Enrolment.course_id).where(Enrolment.user_id == user.id, Enrolment.role == "instructor")
    ))


def concerns(state: RequestState, courses: set[int]) -> bool:
    """Whether an instructor of ``courses`` sees the request: one of its items is theirs."""
    return bool(state.course_ids & courses)


def may_resolve(state: RequestState, courses: set[int]) -> bool:
    """Whether an instructor of ``courses`` decides the request: every one of its items is theirs."""
    return state.course_ids <= courses


def pending_for(session: so.Session, instructor: User) -> list[RequestState]:
    """The pending requests with an item in a course ``instructor`` teaches, oldest first."""
    courses = taught_courses(session, instructor)
    if not courses:
        return []
    waiting = session.scalars(
        sa.select(JoinRequest).where(JoinRequest.state == PENDING)
        .order_by(JoinRequest.requested_at, JoinRequest.id)
    )
    return [state for state in (state_of(session, r) for r in waiting) if concerns(state, courses)]


def resolve(
    session: so.Session, request: JoinRequest, instructor: User, keep: dict[int, str], fingerprint: str,
    state: RequestState | None = None,
) -> AccountMerge:
    """Join the request's accounts with ``instructor``'s choices (by question id, see
    :data:`merging.KEEP_CHOICES`), made on the state ``fingerprint`` they were shown; flushes, the
    caller commits. ``state``: the request's, as the caller has read it already (else read here),
    for whose courses it concerns; the join checks it again under both accounts' locks.
    Raises :class:`NotPending`, :class:`NotTaught`, and what :func:`linking.link` raises
    (:class:`merging.HoldingsChanged` when the state is another by then;
    :class:`merging.ChoicesUnclear`), before anything is written."""
    if request.state != PENDING:
        raise NotPending(f"this request was {request.state} already")
    if state is None:
        state = state_of(session, request)
    missing = state.course_ids - taught_courses(session, instructor)
    if missing:
        codes = sorted(session.scalars(sa.select(Course.code).where(Course.id.in_(missing))))
        raise NotTaught(
            "only an instructor of every course concerned decides this join; you do not teach "
            + ", ".join(codes)
        )
    record = linking.link(
        session, request.lms_user, request.target_user, decision=merging.Decision(keep, fingerprint)
    )
    request.state = JOINED  # the join answered it already; said again for the session's copy
    request.merge_id = record.id
    request.resolved_by = instructor.id
    request.resolved_at = record.merged_at
    request.choices = {str(question): choice for question, choice in sorted(keep.items())}
    session.flush()
    return record


def withdraw(session: so.Session, request: JoinRequest) -> None:
    """The student takes back their pending request; the caller commits."""
    if request.state != PENDING:
        raise NotPending(f"this request was {request.state} already")
    request.state = WITHDRAWN
    request.resolved_at = utcnow()
    session.flush()
