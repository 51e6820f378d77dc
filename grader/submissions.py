"""Accepting a submission: the rules (attempts, rate, lateness) and storing it with its job."""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
import sqlalchemy.orm as so

from grader import jobs, variants
from grader.models import Item, Submission, User, utcnow

RATE_WINDOW = timedelta(minutes=1)


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
    return session.scalar(
        sa.select(sa.func.count(Submission.id)).where(
            Submission.item_id == item_id, Submission.user_id == user_id
        )
    ) or 0


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
) -> tuple[Submission, jobs.Work]:
    """Store the answer and its grading job (leased to ``owner``); the caller commits.

    Raises :class:`Refused` when a rule says no. The counts are read after locking the
    user's row, so concurrent submissions of one user cannot both slip under a limit.
    """
    now = now or utcnow()
    session.execute(sa.select(User.id).where(User.id == user.id).with_for_update())

    recent = session.scalars(
        sa.select(Submission.submitted_at)
        .where(Submission.user_id == user.id, Submission.submitted_at > now - RATE_WINDOW)
        .order_by(Submission.submitted_at)
    ).all()
    if len(recent) >= per_minute:
        wait = recent[len(recent) - per_minute] + RATE_WINDOW - now
        retry_after = max(1, int(wait.total_seconds()) + 1)
        raise RateLimited(
            f"at most {per_minute} submissions a minute: try again in {retry_after} s",
            retry_after,
        )

    if item.max_attempts is not None:
        used = attempts_used(session, item.id, user.id)
        if used >= item.max_attempts:
            raise NoAttemptsLeft(f"all {item.max_attempts} attempts at this item are used")

    if item.assignment is not None:
        instance = variants.ensure(session, item, user.id).instance
        due = item.assignment.due_at
        late = due is not None and now > due
    else:
        instance = variants.instance_for_practice(session, item, user.id)
        late = False

    submission = Submission(
        item_id=item.id,
        user_id=user.id,
        instance=instance,
        answer=answer,
        format=fmt,
        submitted_at=now,
        late=late,
    )
    session.add(submission)
    session.flush()
    job = jobs.enqueue(session, submission, owner, policy)
    work = jobs.Work(job.id, submission.id, instance, answer, fmt)
    return submission, work
