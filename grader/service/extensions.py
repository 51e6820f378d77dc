"""Extensions: one student's own due date and extra attempts, for an assignment or an item.

Every rule that reads a due date or an attempt limit for a student asks
:func:`allowance` (or :func:`allowances` for many). Granting or taking back an
extension marks the student's stored submissions late or not by their new dates,
so the gradebook, which reads those marks, follows at once. The attempts an
instructor gave back when re-drawing the student's instance (see
:mod:`grader.service.redraws`) are part of the limit too, apart from any extension.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
import sqlalchemy.orm as so

from grader.service.instructor_models import Extension, Redraw
from grader.service.models import Assignment, Item, Submission

#: whether a submission is an attempt: pending, or graded with a score (an answer that could
#: not be read is graded without one; see jobs.verdict_columns)
IS_ATTEMPT = sa.or_(Submission.graded_at.is_(None), Submission.score.is_not(None))


@dataclass(frozen=True)
class Allowance:
    """What one student has for one item: their due date and their attempt limit."""

    due_at: datetime | None
    #: None: unlimited; else the item's, the extension's extra and the attempts given back
    max_attempts: int | None
    extended: bool = False
    extra_attempts: int = 0
    #: attempts used on earlier questions that re-draws gave back
    given_back: int = 0

    def late(self, submitted_at: datetime) -> bool:
        return self.due_at is not None and submitted_at > self.due_at

    @property
    def per_question(self) -> int | None:
        """The limit without what re-draws gave back: the item's and the extension's extra."""
        return None if self.max_attempts is None else self.max_attempts - self.given_back

    def attempts_left(self, used: int) -> int | None:
        """What ``used`` attempts (all of the student's, earlier questions' included) leave:
        never fewer than none, never more than one question's limit (None: unlimited)."""
        if self.max_attempts is None:
            return None
        return max(0, min(self.max_attempts - used, self.max_attempts - self.given_back))


def _combine(
    item: Item, assignment: Assignment, found: Iterable[Extension], given_back: int = 0
) -> Allowance:
    whole = next((e for e in found if e.item_id is None), None)
    own = next((e for e in found if e.item_id == item.id), None)
    due_at = assignment.due_at
    extra = 0
    # the item's own extension, read last, wins where it says something: one that only moves
    # the item's date keeps the assignment's extra attempts, as one giving attempts keeps its date
    for extension in (whole, own):
        if extension is None:
            continue
        if extension.due_at is not None:
            due_at = extension.due_at
        if extension.extra_attempts:
            extra = extension.extra_attempts
    limit = None if item.max_attempts is None else item.max_attempts + extra + given_back
    return Allowance(due_at, limit, whole is not None or own is not None, extra, given_back)


def _given_back(session: so.Session, item_ids: list[int], user_ids: list[int]) -> dict[tuple[int, int], int]:
    """The attempts re-draws gave back, per (user, item) that has any: every attempt stored
    before the latest re-draw that gave them back, as it counts now.

    Counted now, not when re-drawn: an answer still being graded at the re-draw is given back
    once its verdict makes it an attempt, and an unreadable one, which uses no attempt, is not
    given back as well. So the limit is the same whether the verdict or the re-draw came first.
    Each give-back gives back what the ones before it had not (a kept question's attempts
    included), so the latest one's count is the sum of them all.
    """
    latest = (
        sa.select(Redraw.user_id, Redraw.item_id, sa.func.max(Redraw.last_submission_id).label("last_id"))
        .where(Redraw.item_id.in_(item_ids), Redraw.user_id.in_(user_ids), Redraw.gave_back)
        .group_by(Redraw.user_id, Redraw.item_id)
        .subquery()
    )
    rows = session.execute(
        sa.select(Submission.user_id, Submission.item_id, sa.func.count(Submission.id))
        .join(latest, sa.and_(Submission.user_id == latest.c.user_id, Submission.item_id == latest.c.item_id,
                              Submission.id <= latest.c.last_id))
        .where(IS_ATTEMPT)
        .group_by(Submission.user_id, Submission.item_id)
    )
    return {(user_id, item_id): int(total) for user_id, item_id, total in rows}


def allowances(
    session: so.Session, assignment: Assignment, user_ids: Iterable[int]
) -> dict[tuple[int, int], Allowance]:
    """Each (user, item)'s allowance on the assignment's items."""
    user_ids = list(user_ids)
    found: dict[int, list[Extension]] = {}
    for extension in session.scalars(
        sa.select(Extension).where(
            Extension.assignment_id == assignment.id, Extension.user_id.in_(user_ids)
        )
    ):
        found.setdefault(extension.user_id, []).append(extension)
    given_back = _given_back(session, [item.id for item in assignment.items], user_ids)
    return {
        (user_id, item.id): _combine(
            item, assignment, found.get(user_id, []), given_back.get((user_id, item.id), 0)
        )
        for user_id in user_ids
        for item in assignment.items
    }


def allowance(session: so.Session, item: Item, user_id: int) -> Allowance:
    """One student's allowance on one item (a practice item's: no date, its own limit)."""
    assignment = item.assignment
    if assignment is None:
        return Allowance(None, item.max_attempts)
    found = session.scalars(
        sa.select(Extension).where(
            Extension.assignment_id == assignment.id,
            Extension.user_id == user_id,
            sa.or_(Extension.item_id.is_(None), Extension.item_id == item.id),
        )
    ).all()
    given_back = _given_back(session, [item.id], [user_id]).get((user_id, item.id), 0)
    return _combine(item, assignment, found, given_back)


def find(
    session: so.Session, assignment_id: int, user_id: int, item_id: int | None
) -> Extension | None:
    item_rule = Extension.item_id.is_(None) if item_id is None else Extension.item_id == item_id
    return session.scalar(
        sa.select(Extension).where(
            Extension.assignment_id == assignment_id, Extension.user_id == user_id, item_rule
        )
    )


def grant(
    session: so.Session,
    assignment: Assignment,
    user_id: int,
    *,
    item_id: int | None = None,
    due_at: datetime | None = None,
    extra_attempts: int = 0,
) -> Extension:
    """Give (or change) a student's extension, and mark their submissions by it; the caller commits."""
    if item_id is not None and item_id not in {item.id for item in assignment.items}:
        raise ValueError(f"item {item_id} is not one of assignment {assignment.id}'s")
    if extra_attempts < 0:
        raise ValueError("extra attempts cannot be negative")
    extension = find(session, assignment.id, user_id, item_id)
    if extension is None:
        extension = Extension(assignment_id=assignment.id, item_id=item_id, user_id=user_id)
        session.add(extension)
    extension.due_at = due_at
    extension.extra_attempts = extra_attempts
    session.flush()
    mark_lateness(session, assignment, user_id)
    return extension


def revoke(session: so.Session, assignment: Assignment, extension: Extension) -> None:
    """Take an extension back; the student's submissions follow the dates left. The caller commits."""
    user_id = extension.user_id
    session.delete(extension)
    session.flush()
    mark_lateness(session, assignment, user_id)


def of_assignment(session: so.Session, assignment_id: int) -> list[Extension]:
    return list(
        session.scalars(
            sa.select(Extension)
            .where(Extension.assignment_id == assignment_id)
            .order_by(Extension.user_id, Extension.item_id)
        )
    )


def mark_lateness(session: so.Session, assignment: Assignment, user_id: int) -> int:
    """Mark the student's submissions to the assignment late or not by their own dates; how
    many changed."""
    allowed = allowances(session, assignment, [user_id])
    changed = 0
    for submission in session.scalars(
        sa.select(Submission).where(
            Submission.user_id == user_id,
            Submission.item_id.in_([item.id for item in assignment.items]),
        )
    ):
        late = allowed[user_id, submission.item_id].late(submission.submitted_at)
        if submission.late != late:
            submission.late = late
            changed += 1
    session.flush()
    return changed
