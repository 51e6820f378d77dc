"""Each student's own instance of an item, drawn reproducibly (like PrairieLearn variants).

The instance of draw ``d`` is a pure function of the assignment's seed, the student,
the item and ``d``: it can be shown before it is stored, and it is stored (a
:class:`~grader.service.models.Variant`) when the student first submits or an instructor
re-draws it. A practice item's draw ``d`` is a function of its set's seed, the student,
the item's place in the set and ``d``; it is stored when the set is made, and again when
the student asks for another version.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so

import exercises
from exercises import DrawOptions
from exercises.base import as_numerator
from exercises.derivations import draw_shared, part_instance, preset
from grader.judge.compare import TYPED, agrees
from grader.service.models import Assignment, Enrolment, Item, Variant

SEED_BITS = 63
#: hex digits of an instance's digest (see :func:`digest`)
DIGEST_CHARS = 16
#: draw numbers a re-draw passes over, at most, for one whose numbers differ from the current ones
MAX_SKIPPED_DRAWS = 64
VARIANTS = Variant.__table__
# built once: they run on most item views
FIND = sa.select(Variant).where(
    Variant.item_id == sa.bindparam("item_id"), Variant.user_id == sa.bindparam("user_id")
)
STORED_INSTANCE = sa.select(VARIANTS.c.instance).where(
    VARIANTS.c.item_id == sa.bindparam("item_id"), VARIANTS.c.user_id == sa.bindparam("user_id")
)
STORED_DRAW = sa.select(VARIANTS.c.instance, VARIANTS.c.draw_number).where(
    VARIANTS.c.item_id == sa.bindparam("item_id"), VARIANTS.c.user_id == sa.bindparam("user_id")
)
STORED_DRAWS = sa.select(VARIANTS.c.item_id, VARIANTS.c.instance, VARIANTS.c.draw_number).where(
    VARIANTS.c.item_id.in_(sa.bindparam("item_ids", expanding=True)),
    VARIANTS.c.user_id == sa.bindparam("user_id"),
)


@dataclass(frozen=True)
class Drawn:
    """A student's instance of an item and the number of its draw, read together: what a page
    shows, and what its forms send back so that an answer to numbers since re-drawn is refused."""

    instance: dict[str, Any]
    draw_number: int
    stored: bool = True  # False: an assignment item's first draw, shown before it is stored

    @property
    def digest(self) -> str:
        return digest(self.instance)


def digest(instance: dict[str, Any]) -> str:
    """A short digest of ``instance``, which forms send back beside its draw number: an
    assignment item's first draw, not stored until answered, follows the item's sizes, so the
    same draw number may stand for other numbers once an instructor has changed them."""
    return hashlib.sha256(_key(instance).encode()).hexdigest()[:DIGEST_CHARS]


def variant_seed(assignment_seed: int, user_id: int, item_id: int, draw_number: int) -> int:
    text = f"{assignment_seed}:{user_id}:{item_id}:{draw_number}".encode()
    return int.from_bytes(hashlib.sha256(text).digest()[:8], "big") >> (64 - SEED_BITS)


def fresh_seed() -> int:
    return secrets.randbits(SEED_BITS)


def draw(item: Item, seed: int) -> dict[str, Any]:
    """An instance of ``item``'s kind and sizes from ``seed``."""
    derivation = item.derivation
    if derivation is not None:  # a part: its share of the derivation's instance
        shared = draw_shared(preset(derivation.preset), seed, derivation.n, derivation.K)
        return part_instance(item.kind, shared)
    exercise = exercises.get(item.kind)
    layout = item.layout if item.layout in exercise.layouts else exercise.layouts[0]
    return exercise.draw(seed, DrawOptions(n=item.n, K=item.K, layout=layout))


def find(session: so.Session, item: Item, user_id: int) -> Variant | None:
    return session.scalar(FIND, {"item_id": item.id, "user_id": user_id})


def stored_instance(session: so.Session, item_id: int, user_id: int) -> dict[str, Any] | None:
    return session.scalar(STORED_INSTANCE, {"item_id": item_id, "user_id": user_id})


def instance_for(session: so.Session, item: Item, user_id: int) -> dict[str, Any]:
    """The student's instance, stored or (not yet stored) drawn; writes nothing."""
    return drawn_for(session, item, user_id).instance


def drawn_for(session: so.Session, item: Item, user_id: int) -> Drawn:
    """The student's instance and its draw number, from one row (an assignment item's first
    draw, not yet stored, is draw 0); writes nothing."""
    return stored_draw(session, item, user_id) or _not_stored(item, user_id)


def drawn_for_each(session: so.Session, items: Sequence[Item], user_id: int) -> dict[int, Drawn]:
    """:func:`drawn_for` of each of ``items`` (a derivation's parts), by item id, from one read."""
    rows = session.execute(STORED_DRAWS, {"item_ids": [item.id for item in items], "user_id": user_id})
    stored = {row.item_id: Drawn(row.instance, row.draw_number) for row in rows}
    return {item.id: stored.get(item.id) or _not_stored(item, user_id) for item in items}


def stored_draw(session: so.Session, item: Item, user_id: int) -> Drawn | None:
    """The student's stored instance and its draw number; None when none is stored yet."""
    row = session.execute(STORED_DRAW, {"item_id": item.id, "user_id": user_id}).one_or_none()
    return None if row is None else Drawn(row.instance, row.draw_number)


def _not_stored(item: Item, user_id: int) -> Drawn:
    if item.assignment is None:
        raise LookupError(f"practice item {item.id} has no instance for user {user_id}")
    return Drawn(draw(item, seed_for(item, user_id, 0)), 0, stored=False)


def first_draw(item: Item, user_id: int) -> Variant:
    """The student's first variant of an assignment item (draw 0), not yet added to a session."""
    if item.assignment is None:  # practice items are stored with their variant at creation
        raise LookupError(f"practice item {item.id} has no instance for user {user_id}")
    return _draw_zero(item, user_id)


def first_practice_draw(item: Item, user_id: int) -> Variant:
    """The student's first variant of a new practice item (draw 0), not yet added to a session."""
    return _draw_zero(item, user_id)


def _draw_zero(item: Item, user_id: int) -> Variant:
    instance = draw(item, seed_for(item, user_id, 0))
    return Variant(item_id=item.id, user_id=user_id, draw_number=0, instance=instance)


def ensure(session: so.Session, item: Item, user_id: int) -> Variant:
    """The student's stored variant, stored now if it was not yet."""
    variant = find(session, item, user_id)
    if variant is None:
        variant = first_draw(item, user_id)
        session.add(variant)
        session.flush()
    return variant


def redraw(session: so.Session, item: Item, user_id: int) -> Variant:
    """A new instance for one student (their earlier submissions keep theirs); a part of a
    derivation takes its sibling parts along, so that they still share one instance.

    The next draw whose numbers all differ from the current ones: a draw that happens to
    give a part its current instance again (few decimals, small sizes) is passed over, since
    a student who asks for new numbers should get them.
    """
    siblings = item.derivation.parts if item.derivation is not None else [item]
    current = {part.id: ensure(session, part, user_id) for part in siblings}
    number = max(variant.draw_number for variant in current.values())
    for _ in range(MAX_SKIPPED_DRAWS):
        number += 1
        drawn = {part.id: draw(part, seed_for(part, user_id, number)) for part in siblings}
        if all(drawn[part_id] != variant.instance for part_id, variant in current.items()):
            break
    for part_id, variant in current.items():
        variant.draw_number = number
        variant.instance = drawn[part_id]
    session.flush()
    return current[item.id]


def draws_of(
    item: Item, user_id: int, current: Drawn | None, instances: list[dict[str, Any]]
) -> list[int | None]:
    """Which draw each of ``instances`` (those the student's submissions answered) is, given
    the student's ``current`` draw (None, or not stored: none is known).

    Draws are reproducible, so the earlier ones are drawn again and compared; an instance
    that is none of them (the item's sizes changed since) is None.
    """
    if current is None or not current.stored:
        return [None] * len(instances)
    known = {_key(current.instance): current.draw_number}
    for number in range(current.draw_number):
        known.setdefault(_key(draw(item, seed_for(item, user_id, number))), number)
    return [known.get(_key(instance)) for instance in instances]


def _key(instance: dict[str, Any]) -> str:
    return json.dumps(instance, sort_keys=True)


def seed_for(item: Item, user_id: int, draw_number: int) -> int:
    """The seed of the student's draw ``draw_number`` of ``item``."""
    if item.assignment is not None:
        return variant_seed(item.assignment.seed, user_id, draw_key(item), draw_number)
    if item.practice_set is None:
        raise ValueError(f"item {item.id} has neither an assignment nor a practice set")
    return variant_seed(item.practice_set.seed, user_id, practice_draw_key(item), draw_number)


def draw_key(item: Item) -> int:
    """What a student's draw of ``item`` is keyed by: the item, or for the parts of a
    derivation, which share one instance, the derivation (negative: never an item's id)."""
    return item.id if item.derivation_id is None else -item.derivation_id


def practice_draw_key(item: Item) -> int:
    """What a draw of a practice item is keyed by: its place in its set, or for the parts of a
    derivation, the place of its first part (negative: never a single item's), so that the
    same seed draws the same set."""
    if item.derivation is None:
        return item.position
    return -1 - min(part.position for part in item.derivation.parts)


_assignments, _enrolments = Assignment.__table__, Enrolment.__table__
# a student's assignment items of one kind, with the instance stored for them if any
OWN_ITEMS = (
    sa.select(Item, _assignments.c.seed, VARIANTS.c.instance)
    .join(_assignments, _assignments.c.id == Item.assignment_id)
    .join(
        _enrolments,
        sa.and_(
            _enrolments.c.course_id == _assignments.c.course_id,
            _enrolments.c.user_id == sa.bindparam("user_id"),
            _enrolments.c.role == "student",
        ),
    )
    .outerjoin(
        VARIANTS,
        sa.and_(VARIANTS.c.item_id == Item.id, VARIANTS.c.user_id == sa.bindparam("user_id")),
    )
    .where(Item.kind == sa.bindparam("kind"))
)


def own_assignment_item(session: so.Session, user_id: int, instance: dict[str, Any]) -> int | None:
    """The assignment item whose instance for this student asks what ``instance`` asks.

    The same question: its right answer (in numerator layout) agrees with the right
    answer to the student's own instance within the typed answers' tolerance, so
    that grading an answer to ``instance`` grades one to theirs (z shifted by a
    constant, a given value nudged, the other layout: all the same question).
    ``instance`` must be valid (see :func:`exercises.validate`); one without given
    values (a function answer's) is no one's.
    """
    exercise = exercises.get(instance.get("kind"))
    if not any(key in instance for key in exercise.given):
        return None
    normal = exercise.validate(instance)
    answer = as_numerator(normal, exercise.reference(normal))
    rows = session.execute(OWN_ITEMS, {"user_id": user_id, "kind": exercise.name})
    for item, seed, stored in rows:
        own = stored or draw(item, variant_seed(seed, user_id, draw_key(item), 0))
        if agrees(as_numerator(own, exercise.reference(own)), answer, TYPED):
            return item.id
    return None
