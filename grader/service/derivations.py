"""Derivations: their parts as items, and the earlier parts each answer builds on.

A derivation's parts are ordinary items of its assignment (so submissions, attempts
and the gradebook treat each part as one item, worth its own points), or of one
student's practice set (then no gradebook sees them); their instances follow from
one shared draw per student (see :mod:`exercises.derivations`).
When a part is submitted, the student's latest answers to the earlier parts it is
built from are recorded with it (``Submission.earlier``): it is graded against those,
now or later, and its page can tell when one of them has since changed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so

from exercises.derivations import letter, preset, sources
from grader.judge.follow_through import SHARE_DEFAULT, EarlierAnswer
from grader.service import variants
from grader.service.models import (
    ALL_ANSWER_FORMS,
    Assignment,
    Derivation,
    Item,
    PracticeSet,
    Submission,
)


def create(
    session: so.Session,
    assignment: Assignment,
    preset_name: str,
    *,
    title: str | None = None,
    share: float = SHARE_DEFAULT,
    n: int | None = None,
    K: int | None = None,
    points: float = 1.0,
    max_attempts: int | None = None,
    answer_forms: list[list[str]] | None = None,
) -> Derivation:
    """Add a derivation to ``assignment``, its parts after the assignment's items (flushed);
    ``answer_forms`` gives each part's, in order (every form by default).

    Raises :class:`exercises.InstanceError` for an unknown preset.
    """
    chosen = preset(preset_name)
    derivation = Derivation(
        assignment=assignment, preset=chosen.name, title=title or chosen.title, share=share, n=n, K=K
    )
    start = max((item.position for item in assignment.items), default=-1) + 1
    forms = answer_forms or [list(ALL_ANSWER_FORMS)] * len(chosen.parts)
    derivation.parts = [
        Item(assignment=assignment, position=start + i, kind=kind, n=n, K=K, points=points,
             max_attempts=max_attempts, answer_forms=list(forms[i]))
        for i, kind in enumerate(chosen.parts)
    ]
    session.add(derivation)
    session.flush()
    return derivation


def create_for_practice(
    session: so.Session,
    practice_set: PracticeSet,
    preset_name: str,
    *,
    n: int | None = None,
    K: int | None = None,
    reason: str | None = None,
) -> Derivation:
    """Add a derivation to the student's ``practice_set``, its parts after the set's items,
    each part stored with its variant of one shared instance drawn from the set's seed
    (flushed).

    Raises :class:`exercises.InstanceError` for an unknown preset.
    """
    chosen = preset(preset_name)
    derivation = Derivation(
        practice_set=practice_set, preset=chosen.name, title=chosen.title, n=n, K=K, reason=reason
    )
    start = max((item.position for item in practice_set.items), default=-1) + 1
    derivation.parts = [
        Item(practice_set=practice_set, position=start + i, kind=kind, n=n, K=K, points=1.0, reason=reason)
        for i, kind in enumerate(chosen.parts)
    ]
    session.add(derivation)
    session.flush()
    # one seed for every part (the derivation's): variants.draw takes each part's share of one instance
    session.add_all(variants.first_practice_draw(part, practice_set.user_id) for part in derivation.parts)
    session.flush()
    return derivation


def part_letter(item: Item) -> str:
    """The letter of a derivation's part, ``a`` for the first."""
    assert item.derivation is not None
    return letter([part.id for part in item.derivation.parts].index(item.id))


def answers_by_part(session: so.Session, parts: list[Item], user_id: int) -> dict[int, list[Submission]]:
    """The user's submissions to each of ``parts`` (by part id, every part listed), oldest
    first, read at once."""
    answers: dict[int, list[Submission]] = {part.id: [] for part in parts}
    if not parts:
        return answers
    rows = session.scalars(
        sa.select(Submission)
        .where(Submission.item_id.in_(list(answers)), Submission.user_id == user_id)
        .order_by(Submission.submitted_at, Submission.id)
    )
    for submission in rows:
        answers[submission.item_id].append(submission)
    return answers


def latest_current(
    session: so.Session, parts: list[Item], user_id: int, instances: Mapping[int, dict[str, Any] | None]
) -> dict[int, Submission]:
    """The user's latest answer to each of ``parts`` that has one to its current instance
    (``instances``, by part id): an answer to an earlier draw, before an instructor re-drew the
    derivation or the student asked for another version, is to another question."""
    return _latest_current(answers_by_part(session, parts, user_id), instances)


def _latest_current(
    answers: Mapping[int, list[Submission]], instances: Mapping[int, dict[str, Any] | None]
) -> dict[int, Submission]:
    found: dict[int, Submission] = {}
    for item_id, submissions in answers.items():
        current = [submission for submission in submissions if submission.instance == instances[item_id]]
        if current:
            found[item_id] = max(current, key=lambda submission: submission.id)
    return found


def earlier_record(session: so.Session, item: Item, user_id: int) -> dict[str, Any] | None:
    """What a submission to ``item`` is graded with: the share, and the student's latest
    answers to the current instance of the earlier parts it is built from (None for an item
    of no derivation)."""
    derivation = item.derivation
    if derivation is None:
        return None
    built_from = sources(preset(derivation.preset), item.kind)
    upstream = [part for part in derivation.parts if part.kind in built_from]
    instances = {part.id: variants.stored_instance(session, part.id, user_id) for part in upstream}
    answers = latest_current(session, upstream, user_id, instances)
    return {
        "share": derivation.share,
        "parts": [
            {
                "kind": part.kind,
                "part": part_letter(part),
                "submission_id": answers[part.id].id,
                "answer": answers[part.id].answer,
                "format": answers[part.id].format,
            }
            for part in upstream
            if part.id in answers
        ],
    }


def earlier_answers(record: dict[str, Any] | None) -> tuple[list[EarlierAnswer], float]:
    """The earlier answers and the share a recorded submission is graded with."""
    if not record:
        return [], SHARE_DEFAULT
    answers = [
        # a format the judge cannot read an earlier answer in (a function) buys no follow-through
        EarlierAnswer(kind=part["kind"], answer=part["answer"], format=part["format"], part=part["part"])
        for part in record.get("parts", [])
    ]
    return answers, float(record.get("share", SHARE_DEFAULT))


@dataclass
class PartView:
    """One part as a student's derivation page shows it."""

    letter: str
    item: Item
    instance: dict[str, Any]
    latest: Submission | None
    #: letters of earlier parts answered again since the latest answer here was graded
    changed_since: list[str] = field(default_factory=list)
    #: every answer of the student's to the part, oldest first, earlier draws' included
    answers: list[Submission] = field(default_factory=list)


def parts_of(
    session: so.Session, derivation: Derivation, user_id: int, instances: dict[int, dict[str, Any]]
) -> list[PartView]:
    """The parts in order, each with the student's instance, answers, latest answer to it and
    what changed upstream since; ``instances`` maps each part's id to the student's instance
    of it. The student's answers are read once, for all of them."""
    parts = derivation.parts
    answers = answers_by_part(session, parts, user_id)
    latest = _latest_current(answers, instances)
    views = []
    for i, part in enumerate(parts):
        own = latest.get(part.id)
        views.append(PartView(letter(i), part, instances[part.id], own, _changed(own, parts, latest),
                              answers[part.id]))
    return views


def _changed(own: Submission | None, parts: list[Item], answers: dict[int, Submission]) -> list[str]:
    if own is None or not own.earlier:
        return []
    by_kind = {part.kind: answers.get(part.id) for part in parts}
    changed = []
    for used in own.earlier.get("parts", []):
        now = by_kind.get(used["kind"])
        if now is not None and now.id != used["submission_id"]:
            changed.append(used["part"])
    return changed


def shared_instance(derivation: Derivation, instances: dict[int, dict[str, Any]]) -> dict[str, Any]:
    """The student's shared instance: the last part's, whose kind gives every value the parts need."""
    return instances[derivation.parts[-1].id]


def of_assignment(session: so.Session, assignment_id: int) -> list[Derivation]:
    """The assignment's derivations (never a practice set's: those have no assignment)."""
    return list(
        session.scalars(
            sa.select(Derivation).where(Derivation.assignment_id == assignment_id).order_by(Derivation.id)
        )
    )
