"""Accepting a submission: the rules (attempts, rate, lateness) and storing it with its job."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so

from grader.judge.verdict import FORM_OF_FORMAT
from grader.service import jobs, variants
from grader.service.db import Prepared, on_connection
from grader.service.models import (
    Assignment,
    Enrolment,
    Item,
    PracticeSet,
    Submission,
    User,
    Variant,
    utcnow,
)

#: what the submission path runs its statements on
Executor = so.Session | sa.Connection

RATE_WINDOW = timedelta(minutes=1)
SUBMISSIONS = Submission.__table__

# The statements of the submission path are built once, with bound parameters: building
# and hashing a statement costs several times more than running it on SQLite.
ATTEMPTS = sa.select(sa.func.count(SUBMISSIONS.c.id)).where(
    SUBMISSIONS.c.item_id == sa.bindparam("item_id"),
    SUBMISSIONS.c.user_id == sa.bindparam("user_id"),
)
LOCK_USER = sa.select(User.id).where(User.id == sa.bindparam("user_id")).with_for_update()
_items, _assignments = Item.__table__, Assignment.__table__
_sets, _enrolments, _variants = PracticeSet.__table__, Enrolment.__table__, Variant.__table__
# counted no further than a rule needs: a count's cost grows with the rows it reads
_recent = (
    sa.select(SUBMISSIONS.c.id)
    .where(
        SUBMISSIONS.c.user_id == sa.bindparam("user_id"),
        SUBMISSIONS.c.submitted_at > sa.bindparam("since"),
    )
    .limit(sa.bindparam("per_minute"))
    .subquery()
)
TARGET = (
    sa.select(
        _items.c.id.label("item_id"),
        _items.c.kind,
        _items.c.n,
        _items.c.K,
        _items.c.layout,
        _items.c.max_attempts,
        _items.c.answer_forms,
        _items.c.assignment_id,
        _assignments.c.course_id,
        _assignments.c.seed,
        _assignments.c.due_at,
        sa.func.coalesce(_assignments.c.feedback_before_due, True).label("feedback_before_due"),
        _sets.c.user_id.label("practice_owner"),
        _enrolments.c.role,
        _variants.c.instance,
        sa.select(sa.func.count()).select_from(_recent).scalar_subquery().label("recent"),
        sa.case(
            (_items.c.max_attempts.is_(None), None), else_=ATTEMPTS.scalar_subquery()
        ).label("attempts"),
    )
    .select_from(
        _items.outerjoin(_assignments, _assignments.c.id == _items.c.assignment_id)
        .outerjoin(_sets, _sets.c.id == _items.c.practice_set_id)
        .outerjoin(
            _enrolments,
            sa.and_(
                _enrolments.c.course_id == _assignments.c.course_id,
                _enrolments.c.user_id == sa.bindparam("user_id"),
            ),
        )
        .outerjoin(
            _variants,
            sa.and_(
                _variants.c.item_id == _items.c.id, _variants.c.user_id == sa.bindparam("user_id")
            ),
        )
    )
    .where(_items.c.id == sa.bindparam("item_id"))
)
# run on the driver's cursor (see grader.service.db.Prepared): these run for every submission
PREPARED_TARGET = Prepared(TARGET, ("item_id", "user_id", "since", "per_minute"))
INSERT = sa.insert(SUBMISSIONS).returning(SUBMISSIONS.c.id)
PREPARED_INSERT = Prepared(
    INSERT, ("item_id", "user_id", "instance", "answer", "format", "submitted_at", "late")
)


class Refused(Exception):
    """A submission the rules do not accept; ``code`` names the rule."""

    code = "refused"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class RateLimited(Refused):
    code = "rate_limited"

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class NoAttemptsLeft(Refused):
    code = "no_attempts_left"


class FormNotAccepted(Refused):
    code = "form_not_accepted"


def attempts_used(session: Executor, item_id: int, user_id: int) -> int:
    return session.scalar(ATTEMPTS, {"item_id": item_id, "user_id": user_id}) or 0


@dataclass(frozen=True)
class Accepted:
    """A submission as stored, before its verdict."""

    id: int
    item_id: int
    user_id: int
    instance: dict[str, Any]
    answer: str
    format: str
    submitted_at: datetime
    late: bool


@dataclass(frozen=True)
class Target:
    """What accepting an answer needs to know of an item and of the user answering it."""

    item_id: int
    kind: str
    n: int | None
    K: int | None
    layout: str
    max_attempts: int | None
    answer_forms: list[str]
    assignment_id: int | None
    course_id: int | None
    seed: int | None
    due_at: datetime | None
    feedback_before_due: bool
    practice_owner: int | None
    role: str | None  # the user's role in the item's course
    instance: dict[str, Any] | None  # the user's stored instance, if any
    recent: int  # the user's submissions since ``now - RATE_WINDOW`` (up to the limit)
    attempts: int | None  # the user's submissions to the item, where attempts are limited

    def answerable_by(self, user_id: int) -> bool:
        """Their own practice item, or an item of a course they are in."""
        if self.assignment_id is None:
            return self.practice_owner == user_id
        return self.role is not None


def target(
    connection: Executor, item_id: int, user_id: int, *, per_minute: int, now: datetime
) -> Target | None:
    """The item and the user's standing with it, in one query; None for no such item.

    Run it in the write transaction that stores the answer: the counts it reads are
    those the rules judge, and no other submission of the user's can come between.
    (SQLite's BEGIN IMMEDIATE holds the write lock already; elsewhere the user's row
    is locked first.)
    """
    connection = on_connection(connection)
    if connection.dialect.name != "sqlite":
        connection.execute(LOCK_USER, {"user_id": user_id})
    row = PREPARED_TARGET.first(
        connection,
        {"item_id": item_id, "user_id": user_id, "since": now - RATE_WINDOW, "per_minute": per_minute},
    )
    return None if row is None else Target(**row)


def accept(
    session: so.Session,
    user: User,
    item: Item,
    answer: str,
    fmt: str,
    *,
    per_minute: int,
    owner: str | None,
    policy: jobs.JobPolicy,
    now: datetime | None = None,
) -> tuple[Accepted, jobs.Work]:
    """Store the answer to ``item`` and its grading job (see :func:`store`); the caller commits."""
    now = now or utcnow()
    found = target(session, item.id, user.id, per_minute=per_minute, now=now)
    assert found is not None, f"item {item.id} vanished"
    return store(
        session, user.id, found, answer, fmt,
        per_minute=per_minute, owner=owner, policy=policy, now=now,
    )


def store(
    connection: Executor,
    user_id: int,
    item: Target,
    answer: str,
    fmt: str,
    *,
    per_minute: int,
    owner: str | None,
    policy: jobs.JobPolicy,
    now: datetime,
) -> tuple[Accepted, jobs.Work]:
    """Store the answer and its grading job (leased to ``owner``); the caller commits.

    ``item`` is what :func:`target` read in the same transaction, at ``now``. Raises
    :class:`Refused` when a rule says no. Core statements only, on a session or a
    connection: this is the service's hot path.
    """
    connection = on_connection(connection)
    form = FORM_OF_FORMAT.get(fmt)
    if form not in item.answer_forms:
        accepted = " or ".join(item.answer_forms)
        raise FormNotAccepted(
            f"this item does not accept an answer as a {form or fmt}: it accepts {accepted}"
        )
    if item.recent >= per_minute:
        check_rate(connection, user_id, per_minute, now)
    if item.max_attempts is not None and (item.attempts or 0) >= item.max_attempts:
        raise NoAttemptsLeft(f"all {item.max_attempts} attempts at this item are used")

    instance = item.instance
    if instance is None:
        if item.seed is None:  # practice items are drawn with their set
            raise LookupError(f"practice item {item.item_id} has no instance for user {user_id}")
        instance = variants.draw(item, variants.variant_seed(item.seed, user_id, item.item_id, 0))
        connection.execute(
            variants.INSERT,
            {"item_id": item.item_id, "user_id": user_id, "draw_number": 0, "instance": instance},
        )
    late = item.due_at is not None and now > item.due_at

    submission_id = PREPARED_INSERT.scalar(
        connection,
        {
            "item_id": item.item_id,
            "user_id": user_id,
            "instance": instance,
            "answer": answer,
            "format": fmt,
            "submitted_at": now,
            "late": late,
        },
    )
    job_id = jobs.enqueue(connection, submission_id, owner, policy, now)
    accepted = Accepted(submission_id, item.item_id, user_id, instance, answer, fmt, now, late)
    return accepted, jobs.Work(job_id, submission_id, instance, answer, fmt)


def check_rate(session: Executor, user_id: int, per_minute: int, now: datetime) -> None:
    """Raise :class:`RateLimited` when the user has used up the last minute's submissions."""
    window_start = now - RATE_WINDOW
    # the oldest submission that keeps the user at the limit leaves the window first
    blocking = session.scalar(
        sa.select(SUBMISSIONS.c.submitted_at)
        .where(SUBMISSIONS.c.user_id == user_id, SUBMISSIONS.c.submitted_at > window_start)
        .order_by(SUBMISSIONS.c.submitted_at.desc())
        .offset(per_minute - 1)
        .limit(1)
    )
    if blocking is None:
        return
    wait = blocking + RATE_WINDOW - now
    retry_after = max(1, int(wait.total_seconds()) + 1)
    raise RateLimited(
        f"at most {per_minute} submissions a minute: try again in {retry_after} s", retry_after
    )
