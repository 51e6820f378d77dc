"""Answers right for another student's instance of the same item (code ``other_instance``).

A wrong typed answer that agrees, within the typed tolerance, with the right answer
to another student's variant of the same item was most likely worked on their
values: shared, or copied from a neighbour's screen by an honest slip. The student
is told so without naming anyone; the instructor's report (:func:`matches`) says
whose variant it matched. The articles' worked examples are the judge's concern.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import sqlalchemy as sa
import sqlalchemy.orm as so

import exercises
from grader.judge.answers import ParseError, read_answer
from grader.judge.compare import ABSOLUTE_FLOOR, TYPED
from grader.judge.formulas.grading import formula_answer
from grader.judge.verdict import Feedback, Verdict
from grader.service import gradebook
from grader.service.models import Item, PracticeSet, Submission, User, Variant

CODE = "other_instance"
MESSAGE = (
    "Your answer is right for a different instance of this question, not for yours: "
    "use your own values."
)
#: answers read as one array of numbers; a function answer is compared by what it returned on
#: the student's own instance (numbers typed into it give it away)
TYPED_FORMATS = ("json", "text")
Array = npt.NDArray[np.float64]


@dataclass
class VariantIndex:
    """The right answers to every stored variant of one item, stacked by shape."""

    item_id: int
    stacks: dict[tuple[int, ...], tuple[Array, Array]]  # shape -> (owners, answers)
    layout: str = "numerator"  # the item's: its variants share it

    @classmethod
    def of(cls, session: so.Session, item_id: int) -> VariantIndex:
        grouped: dict[tuple[int, ...], tuple[list[int], list[Array]]] = {}
        layout = "numerator"
        drawn = sa.select(Variant.user_id, Variant.instance).where(Variant.item_id == item_id)
        item = session.get(Item, item_id)
        if item is not None:
            # an account a join closed is enrolled nowhere: the instances set apart on it are no one's
            drawn = drawn.where(Variant.user_id.in_(_members(item)))
        rows = session.execute(drawn)
        for user_id, instance in rows:
            exercise, normal = exercises.validate(dict(instance))
            layout = normal.get("layout", layout)
            answer = np.asarray(exercise.reference(normal), dtype=np.float64)
            owners, answers = grouped.setdefault(answer.shape, ([], []))
            owners.append(user_id)
            answers.append(answer)
        stacks = {
            shape: (np.asarray(owners), np.stack(answers)) for shape, (owners, answers) in grouped.items()
        }
        return cls(item_id, stacks, layout)

    def owners_of(self, received: Array, but: int) -> list[int]:
        """The students other than ``but`` whose variant ``received`` answers."""
        found = self.stacks.get(received.shape)
        if found is None or not np.isfinite(received).all():
            return []
        owners, answers = found
        axes = tuple(range(1, answers.ndim))
        magnitude = np.abs(answers)
        largest = magnitude.max(axis=axes, keepdims=True) if answers.ndim > 1 else magnitude
        # the typed rule of grader.judge.compare, for every variant at once
        allowed = np.maximum(TYPED.rtol * magnitude, TYPED.negligible * largest) + ABSOLUTE_FLOOR
        agrees = (np.abs(answers - received) <= allowed).all(axis=axes)
        return [int(owner) for owner in owners[agrees] if owner != but]


def _members(item: Item) -> sa.Select[tuple[int]]:
    """Who answers ``item`` and counts: its course's students and instructors (a practice item's
    owner, whose set it is)."""
    if item.assignment is not None:
        return gradebook.members(item.assignment.course_id)
    return sa.select(PracticeSet.user_id).where(PracticeSet.id == item.practice_set_id)


def function_array(verdict: Verdict, layout: str) -> Array | None:
    """What a function answer returned on the student's own instance, where it failed there."""
    failed = verdict.failed_instance
    if not failed or not failed.get("given") or failed.get("received") is None:
        return None
    try:
        received = np.asarray(failed["received"], dtype=np.float64)
    except (TypeError, ValueError):  # "NaN" and "inf" written out
        return None
    return received.T if layout == "denominator" else received  # functions return numerator


def formula_array(verdict: Verdict, answer: str) -> Array | None:
    """A formula's value on the student's own instance (numbers typed into it give it away)."""
    if verdict.kind is None or verdict.instance is None:
        return None
    try:
        exercise, instance = exercises.validate(dict(verdict.instance))
    except exercises.InstanceError:
        return None
    return formula_answer(exercise, answer, instance)


def typed_array(answer: str, fmt: str) -> Array | None:
    if fmt not in TYPED_FORMATS:
        return None
    try:
        return np.asarray(read_answer(answer, fmt).array, dtype=np.float64)  # type: ignore[arg-type]
    except (ParseError, ValueError, TypeError):
        return None


def received_array(verdict: Verdict, answer: str, fmt: str, layout: str) -> Array | None:
    """The numbers an answer gave for the student's own instance, in any format; None when it
    gave none that can be compared."""
    if fmt == "python":
        return function_array(verdict, layout)
    if fmt == "formula":
        return formula_array(verdict, answer)
    return typed_array(answer, fmt)


def mark(verdict: Verdict, index: VariantIndex, user_id: int, answer: str, fmt: str) -> Verdict:
    """The verdict with ``other_instance`` first when a wrong answer is another variant's."""
    if verdict.correct or CODE in verdict.codes:
        return verdict
    received = received_array(verdict, answer, fmt, index.layout)
    if received is None or not index.owners_of(received, user_id):
        return verdict
    return verdict.model_copy(update={"feedback": [Feedback(code=CODE, message=MESSAGE),
                                                   *verdict.feedback]})


def may_be_anothers(verdict: Verdict, fmt: str) -> bool:
    """Whether a verdict may be right for another variant: a wrong answer, which gave numbers
    where it is a function's. Only these need the item's variants read."""
    return not verdict.correct and (fmt != "python" or function_array(verdict, "numerator") is not None)


def mark_stored(session: so.Session, item_id: int, user_id: int, answer: str, fmt: str,
                verdict: Verdict) -> Verdict:
    """:func:`mark` for one submission being graded (only wrong answers read the variants)."""
    if not may_be_anothers(verdict, fmt):
        return verdict
    return mark(verdict, VariantIndex.of(session, item_id), user_id, answer, fmt)


@dataclass(frozen=True)
class Match:
    """A submission whose answer is right for another student's variant."""

    submission: Submission
    owners: Sequence[User]


def matches(session: so.Session, items: Sequence[Item]) -> list[Match]:
    """The submissions to ``items`` marked ``other_instance``, and whose variants they match."""
    found = []
    for item in items:
        flagged = [
            s for s in session.scalars(
                sa.select(Submission)
                .where(Submission.item_id == item.id, Submission.correct.is_(False),
                       Submission.user_id.in_(_members(item)))
                .order_by(Submission.submitted_at, Submission.id)
            )
            if CODE in (s.codes or [])  # codes are a JSON list: filtered here, alike on every database
        ]
        if not flagged:
            continue
        index = VariantIndex.of(session, item.id)
        for submission in flagged:
            received = received_array(Verdict.model_validate(submission.verdict), submission.answer,
                                      submission.format, index.layout)
            owner_ids = [] if received is None else index.owners_of(received, submission.user_id)
            owners = list(session.scalars(sa.select(User).where(User.id.in_(owner_ids)))) if owner_ids else []
            found.append(Match(submission, owners))
    return found
