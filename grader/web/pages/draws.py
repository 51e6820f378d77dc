"""Which draw of a student's instance each of their answers was to, once an item is re-drawn,
and the draw a page's answer forms send back, so that an answer to values since re-drawn is refused."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import sqlalchemy.orm as so

from grader.service import variants
from grader.service.models import Item, Submission, User
from grader.service.variants import Drawn

#: what a page says when its form answered values that have since been re-drawn
STALE_ANSWER = (
    "Not stored: the given values changed after this page was loaded (a new version of the question), "
    "so your answer was to the old ones. No attempt was used. The new values are shown now, and your "
    "answer is still in its box, to rework with them."
)
#: the same, when no attempt is left on the new question (the earlier ones kept): no form is shown
STALE_ANSWER_NONE_LEFT = (
    "Not stored: the given values changed after this page was loaded (a new version of the question), "
    "so your answer was to the old ones. No attempt was used, and none is left on this item: the new "
    "values are shown now."
)
#: digits of the largest draw number a form may send (ids and draws are 32-bit integers)
MAX_DRAW_DIGITS = 10


def stale_answer(attempts_left: int | None) -> str:
    """What a page says of an answer to values since re-drawn, by the attempts left on the new ones."""
    return STALE_ANSWER_NONE_LEFT if attempts_left == 0 else STALE_ANSWER


def sent_draw(form: Mapping[str, str]) -> int | None:
    """The draw number a page's form sent back in its ``draw`` field: None when it sent none
    (a page loaded before forms carried one) or no number."""
    seen = form.get("draw", "")
    if seen.isascii() and seen.isdigit() and len(seen) <= MAX_DRAW_DIGITS:
        return int(seen)
    return None


def sent_digest(form: Mapping[str, str]) -> str | None:
    """The digest of the instance a page's form showed, from its ``instance_digest`` field
    (see :func:`grader.service.variants.digest`): None when it sent none, or not a digest."""
    seen = form.get("instance_digest", "")
    if len(seen) == variants.DIGEST_CHARS and all(c in "0123456789abcdef" for c in seen):
        return seen
    return None


@dataclass(frozen=True)
class Answered:
    """A student's submissions to one item, seen against the draw they have now."""

    current: list[Submission]  # those to the question on the page
    labels: list[str | None]  # per submission, which question it answered (None: never re-drawn)
    redrawn: bool

    @property
    def earlier(self) -> int:
        """How many of the submissions answered an earlier question."""
        return len(self.labels) - len(self.current)


def answered(
    session: so.Session, item: Item, user: User, past: list[Submission], drawn: Drawn | None = None
) -> Answered:
    """``past`` seen against the student's draw of ``item``: ``drawn``, as the page has read it
    already (:func:`grader.service.variants.drawn_for`), or else the one stored, read here."""
    if drawn is None:
        drawn = variants.stored_draw(session, item, user.id)
    if drawn is None or not drawn.stored:
        return Answered(list(past), [None] * len(past), False)
    numbers = variants.draws_of(item, user.id, drawn, [s.instance for s in past])
    current = [s for s, number in zip(past, numbers, strict=True) if number == drawn.draw_number]
    labels = [draw_label(number, drawn) for number in numbers]
    return Answered(current, labels, drawn.draw_number > 0)


def draw_label(number: int | None, drawn: Drawn | None) -> str | None:
    """Which question an attempt answered, said only once the item was re-drawn."""
    if drawn is None or drawn.draw_number == 0:
        return None
    if number == drawn.draw_number:
        return f"answered the current question (draw {number})"
    if number is None:
        return "answered a question since changed"
    return f"answered an earlier question (draw {number})"
