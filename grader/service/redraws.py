"""An instructor re-drawing one student's instance, and the attempts used on the earlier question.

The choice is the instructor's, each time: give those attempts back (the student has the
item's full limit, and their extension's extra, on the new question) or keep them used.
Either way the choice is stored as a :class:`~grader.service.instructor_models.Redraw`, one
per part of a derivation, and the attempts given back are added to the student's limit by
:func:`grader.service.extensions.allowance`, which every rule about attempts asks.

Why a record of its own rather than the data there was:

- not an extension of the attempts used: an extension is the instructor's to edit and take
  back on the extensions page, where a change would silently take the given attempts with
  it; an item's extension replaces the assignment's, so the two would have to be summed by
  hand; and it would say nothing of the re-draw that caused it;
- not "count only the attempts at the current draw": it cannot express "kept", it would
  change the limit of every student re-drawn before, and a regrade, which counts the first
  attempts up to the limit, would drop the answers to the new question.

An answer still being graded at the re-draw counts as used, as it does everywhere until its
verdict is in; given back, it stays given back if its verdict makes it an attempt, and if it
turns out unreadable (no attempt) it is not given back as well: the limit reads the attempts
before the re-draw as they count now (see :func:`grader.service.extensions.allowance`), so it
is the same whether the verdict or the re-draw came first. The record keeps the count the
instructor was shown.

The submissions are never touched: the gradebook counts every attempt and scores by the
assignment's policy over both questions' answers, the history marks which question each
answered, the statistics and the LMS scores read them as before, and a regrade counts the
given attempts as it counts an extension's.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
import sqlalchemy.orm as so

from grader.service import extensions, submissions, variants
from grader.service.instructor_models import Redraw
from grader.service.models import Item, Submission, Variant

#: What a re-draw does with the attempts used on the earlier question unless the instructor
#: says otherwise: give them back. A re-draw is asked for because the question was bad (a
#: degenerate instance) or the student needs a fresh one; in both the attempts were spent on
#: a question that is gone, and keeping them hands a student who used them all a question
#: they cannot answer, which is almost never what was meant, and shows only when they
#: complain. Giving them back takes nothing from anyone: the answers to the earlier question
#: keep their scores. Keeping them is the deliberate choice, for a fresh instance that should
#: not be a fresh start (an instance that was shared around, say).
GIVE_BACK_DEFAULT = True

#: the choice as the API and the form name it
GIVE_BACK, KEEP = "give_back", "keep"
CHOICES = {GIVE_BACK: True, KEEP: False}
DEFAULT_CHOICE = GIVE_BACK if GIVE_BACK_DEFAULT else KEEP


@dataclass(frozen=True)
class PartAttempts:
    """One item's attempts for one student, before a re-draw, and what each choice leaves."""

    item: Item
    #: the attempts that count against the limit on the question the student has now
    used: int
    #: the limit on one question: the item's and the extension's extra (None: unlimited)
    limit: int | None
    extra_attempts: int
    #: left on the new question if given back, and if kept (None: unlimited)
    left_if_given_back: int | None
    left_if_kept: int | None


@dataclass(frozen=True)
class Redrawn:
    """What a re-draw did: the item's new variant, and each part's record."""

    variant: Variant
    records: list[Redraw]

    def record_of(self, item_id: int) -> Redraw:
        return next(record for record in self.records if record.item_id == item_id)


def parts(item: Item) -> list[Item]:
    """What a re-draw of ``item`` moves: the item, or every part of its derivation."""
    return list(item.derivation.parts) if item.derivation is not None else [item]


def attempts(session: so.Session, item: Item, user_id: int) -> PartAttempts:
    """The student's attempts on their current question of ``item``, and what each choice
    of a re-draw would leave them."""
    allowed = extensions.allowance(session, item, user_id)
    total = submissions.attempts_used(session, item.id, user_id)
    used = max(0, total - allowed.given_back)
    limit = allowed.per_question
    kept = allowed.attempts_left(total)
    return PartAttempts(item, used, limit, allowed.extra_attempts, limit, kept)


def redraw(
    session: so.Session,
    item: Item,
    user_id: int,
    *,
    give_back: bool = GIVE_BACK_DEFAULT,
    by_id: int | None = None,
) -> Redrawn:
    """Give one student a new instance of ``item`` (a part takes its siblings along), giving
    back the attempts used on the earlier question or keeping them, for each part; records it
    and flushes, the caller commits."""
    if item.assignment is None:
        raise ValueError(f"item {item.id} is a practice item: only assignment items are re-drawn")
    submissions.lock_user(session, user_id)  # no submission of theirs comes between
    before = [attempts(session, part, user_id) for part in parts(item)]
    last: dict[int, int] = {
        item_id: newest
        for item_id, newest in session.execute(
            sa.select(Submission.item_id, sa.func.max(Submission.id))
            .where(Submission.item_id.in_([part.item.id for part in before]), Submission.user_id == user_id)
            .group_by(Submission.item_id)
        )
    }
    variant = variants.redraw(session, item, user_id)
    records = []
    for part in before:
        record = Redraw(
            item_id=part.item.id,
            user_id=user_id,
            draw_number=variant.draw_number,
            attempts_used=part.used,
            attempts_given_back=part.used if give_back else 0,
            gave_back=give_back,
            by_id=by_id,
            last_submission_id=last.get(part.item.id, 0),
        )
        session.add(record)
        records.append(record)
    session.flush()
    return Redrawn(variant, records)


def given_back_last(session: so.Session, item: Item, user_id: int) -> int:
    """The attempts the student's latest re-draw of ``item`` gave back (0: kept, or none), as
    they count now: those stored since the re-draw that gave back before it."""
    records = of_student(session, [item.id], user_id)
    if not records or not records[-1].gave_back:
        return 0
    since = max((record.last_submission_id for record in records[:-1] if record.gave_back), default=0)
    return session.scalar(
        sa.select(sa.func.count(Submission.id)).where(
            Submission.item_id == item.id, Submission.user_id == user_id, extensions.IS_ATTEMPT,
            Submission.id > since, Submission.id <= records[-1].last_submission_id,
        )
    ) or 0


def of_student(session: so.Session, item_ids: list[int], user_id: int) -> list[Redraw]:
    """The student's re-draws of these items, oldest first."""
    return list(
        session.scalars(
            sa.select(Redraw)
            .where(Redraw.item_id.in_(item_ids), Redraw.user_id == user_id)
            .order_by(Redraw.created_at, Redraw.id)
        )
    )
