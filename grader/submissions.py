"""Accepting a submission: the rules (attempts, rate, lateness) and storing it with its job."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so

from grader import jobs, variants
from grader.models import Item, Submission, User, utcnow

RATE_WINDOW = timedelta(minutes=1)
SUBMISSIONS = Submission.__table__

# The statements of the submission path are built once, with bound parameters: building
# and hashing a statement costs several times more than running it on SQLite.
ATTEMPTS = sa.select(sa.func.count(SUBMISSIONS.c.id)).where(
    SUBMISSIONS.c.item_id == sa.bindparam("item_id"),
    SUBMISSIONS.c.user_id == sa.bindparam("user_id"),
)
RECENT = sa.select(sa.func.count(SUBMISSIONS.c.id)).where(
    SUBMISSIONS.c.user_id == sa.bindparam("user_id"),
    SUBMISSIONS.c.submitted_at > sa.bindparam("since"),
)
LOCK_USER = sa.select(User.id).where(User.id == sa.bindparam("user_id")).with_for_update()
INSERT = sa.insert(SUBMISSIONS).returning(SUBMISSIONS.c.id)


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


def attempts_used(session: so.Session, item_id: int, user_id: int) -> int:
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
    """Store the answer and its grading job (leased to ``owner``); the caller commits.

    Raises :class:`Refused` when a rule says no. The counts are read after locking the
    user's row, so concurrent submissions of one user cannot both slip under a limit.
    """
    now = now or utcnow()
    if session.get_bind().dialect.name != "sqlite":  # SQLite's BEGIN IMMEDIATE locks already
        session.execute(LOCK_USER, {"user_id": user.id})
    check_rate(session, user.id, per_minute, now)
    if item.max_attempts is not None:
        used = attempts_used(session, item.id, user.id)
        if used >= item.max_attempts:
            raise NoAttemptsLeft(f"all {item.max_attempts} attempts at this item are used")

    if item.assignment is not None:
        instance = variants.ensure_instance(session, item, user.id)
        due = item.assignment.due_at
        late = due is not None and now > due
    else:
        instance = variants.instance_for_practice(session, item, user.id)
        late = False

    # Core statements: the ORM's unit of work would cost more than the grading
    submission_id = session.execute(
        INSERT,
        {
            "item_id": item.id,
            "user_id": user.id,
            "instance": instance,
            "answer": answer,
            "format": fmt,
            "submitted_at": now,
            "late": late,
        },
    ).scalar_one()
    job_id = jobs.enqueue(session, submission_id, owner, policy)
    accepted = Accepted(submission_id, item.id, user.id, instance, answer, fmt, now, late)
    return accepted, jobs.Work(job_id, submission_id, instance, answer, fmt)


def check_rate(session: so.Session, user_id: int, per_minute: int, now: datetime) -> None:
    """Raise :class:`RateLimited` when the user has used up the last minute's submissions."""
    window_start = now - RATE_WINDOW
    recent = session.scalar(RECENT, {"user_id": user_id, "since": window_start})
    if recent is None or recent < per_minute:
        return
    # the oldest submission that keeps the user at the limit leaves the window first
    blocking = session.scalar(
        sa.select(SUBMISSIONS.c.submitted_at)
        .where(SUBMISSIONS.c.user_id == user_id, SUBMISSIONS.c.submitted_at > window_start)
        .order_by(SUBMISSIONS.c.submitted_at.desc())
        .offset(per_minute - 1)
        .limit(1)
    )
    wait = (blocking or now) + RATE_WINDOW - now
    retry_after = max(1, int(wait.total_seconds()) + 1)
    raise RateLimited(
        f"at most {per_minute} submissions a minute: try again in {retry_after} s", retry_after
    )
