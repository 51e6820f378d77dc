"""An account the LMS made, merged into the account its user had here before, with all it holds.

Students launch from the LMS, answer a few questions, and only then remember the account
they had (their practice, an earlier course). Joining the two (:func:`grader.service.lti.
linking.link`) moves everything the LMS account holds to the older one, in the caller's
transaction: its courses, its answers with their verdicts, its instances, its practice sets,
the re-draws and extensions it was given, its scores waiting for the LMS; every column that
refers to a user is named in :data:`USER_REFERENCES` with what becomes of its rows, and a
join refuses to run while the schema has one that is not.

The rule for an item both accounts hold. A student's instance is drawn for them, so each
account has its own numbers for an assignment item (for a derivation: one instance shared
by its parts, which move together and are one item here):

- both accounts answered it: the join is refused, naming the items. One grade and one
  attempt limit per item cannot honestly come out of two records: the answers of both
  would count towards one score, and the attempts used twice over under one limit. Nothing
  silently changes a grade; an instructor decides.
- one account answered it, and the other holds only an instance it never answered (an
  instructor re-drew it before any answer): the answered instance is kept with its answers,
  and the unanswered one is left out (recorded). No score or attempt is on the one left out.
- neither answered it and both hold an instance: the older account's is kept.

So every answer keeps the instance it was graded on, the item's current instance is the one
its answers were to, each grade is the one that account earned, and the attempts are the
ones used. The LMS is sent the merged assignment scores again.

The account merged away is left empty and closed: no LMS identity, enrolment, password or
token, and its sessions end. Its row stays, so that its id is never given to anyone else;
the :class:`AccountMerge` record says who joined, when and what moved, on the student's
timeline for the instructors of the courses concerned.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so

import exercises
from grader.service import extensions, submissions, tokens, variants
from grader.service.instructor_models import Extension, Redraw
from grader.service.lti import ags
from grader.service.lti.models import AccountMerge, LtiGradeSync, LtiIdentity, LtiPlatform, LtiResourceLink
from grader.service.models import Assignment, Base, Enrolment, Item, PracticeSet, Submission, User, Variant

#: Every column that refers to a user, and what a join does with the LMS account's rows there.
#: A column added to the schema and not named here stops every join (:class:`Unhandled`)
#: until its rule is written: its rows would otherwise stay with an account no one opens.
USER_REFERENCES: dict[str, str] = {
    "api_tokens.user_id": "revoked: a token of the LMS account opens no other account",
    "enrolments.user_id": "moved; where both accounts are enrolled, one enrolment with the LMS's role",
    "practice_sets.user_id": "moved, with their items",
    "variants.user_id": "moved, but for an item both hold (see the rule above)",
    "submissions.user_id": "moved, with their verdicts",
    "extensions.user_id": "moved; where both have one for the same assignment or item, one with the "
                          "later date and the more attempts",
    "redraws.user_id": "moved (they give back attempts on the instances that move)",
    "redraws.by_id": "moved: the re-draws an instructor made from the LMS account",
    "lti_identities.user_id": "moved: the LMS opens the older account from then on",
    "lti_grade_syncs.user_id": "moved, and sent again with the merged score",
    "lti_platforms.registered_by": "moved",
    "account_merges.into_user_id": "moved",
    "account_merges.from_user_id": "kept: the record of the account merged away",
}
#: the one reference a join leaves on the account merged away
KEPT_ON_MERGED = "account_merges.from_user_id"


class Unhandled(RuntimeError):
    """The schema has a user reference that :data:`USER_REFERENCES` does not name."""


class ItemsBothAnswered(ValueError):
    """Both accounts answered these items (named): the accounts are not merged."""

    def __init__(self, names: list[str]) -> None:
        super().__init__(
            "both accounts have answers to " + "; ".join(names) + ". One grade cannot be made of "
            "two students' records without changing it, so nothing was moved: ask your instructor"
        )
        self.names = names


class HoldingsChanged(ValueError):
    """What the LMS account holds is no longer what its user confirmed (``held``: what it is now)."""

    def __init__(self, held: Holdings) -> None:
        super().__init__("what the account holds changed since it was shown")
        self.held = held


def user_references() -> set[str]:
    """Every ``table.column`` of the schema that refers to a user."""
    return {
        f"{table.name}.{fk.parent.name}"
        for table in Base.metadata.tables.values()
        for fk in table.foreign_keys
        if fk.column.table.name == User.__tablename__
    }


@dataclass(frozen=True)
class Holdings:
    """What an account holds, counted: what a join moves, shown before it is confirmed."""

    courses: int
    assignment_answers: int
    assignment_items: int
    practice_sets: int
    practice_answers: int
    instances: int
    extensions: int
    redraws: int
    lms_scores: int

    @property
    def answers(self) -> int:
        return self.assignment_answers + self.practice_answers

    @property
    def fingerprint(self) -> str:
        """The counts in one word: a confirmation names what it saw, and a join whose
        account changed since (an answer from another tab) is shown again."""
        return "-".join(str(count) for count in asdict(self).values())


def _count(session: so.Session, statement: sa.Select[Any]) -> int:
    return session.scalar(sa.select(sa.func.count()).select_from(statement.subquery())) or 0


def holdings(session: so.Session, user: User) -> Holdings:
    """What ``user`` holds (the LMS account a join would merge away)."""
    own = Submission.user_id == user.id
    on_assignments = sa.select(Submission.item_id).join(Item, Item.id == Submission.item_id).where(
        own, Item.assignment_id.is_not(None)
    )
    return Holdings(
        courses=_count(session, sa.select(Enrolment.id).where(Enrolment.user_id == user.id)),
        assignment_answers=_count(session, on_assignments),
        assignment_items=_count(session, on_assignments.distinct()),
        practice_sets=_count(session, sa.select(PracticeSet.id).where(PracticeSet.user_id == user.id)),
        practice_answers=_count(
            session,
            sa.select(Submission.id).join(Item, Item.id == Submission.item_id)
            .where(own, Item.practice_set_id.is_not(None)),
        ),
        instances=_count(session, sa.select(Variant.id).where(Variant.user_id == user.id)),
        extensions=_count(session, sa.select(Extension.id).where(Extension.user_id == user.id)),
        redraws=_count(session, sa.select(Redraw.id).where(Redraw.user_id == user.id)),
        lms_scores=_count(session, sa.select(LtiGradeSync.id).where(LtiGradeSync.user_id == user.id)),
    )


def unit_name(item: Item) -> str:
    """An assignment item as a student finds it: course, assignment, question (a derivation's
    parts are one question)."""
    assignment = item.assignment
    assert assignment is not None
    where = f"{assignment.course.code} {assignment.title}"
    if item.derivation is not None:
        return f"{where}: {item.derivation.title}"
    return f"{where}: question {item.position + 1} ({exercises.get(item.kind).title})"


@dataclass
class _Side:
    """One account's records on one unit (an item, or a derivation's parts)."""

    answered: bool = False
    variants: list[Variant] | None = None

    @property
    def holds(self) -> bool:
        return self.answered or bool(self.variants)


@dataclass(frozen=True)
class Plan:
    """What a join of ``lms_user`` into ``target`` does with the assignment items both hold."""

    #: the instances that go (the unanswered side of an item both hold)
    left_out: list[Variant]
    #: the names of the items whose instance was left out, for the record
    left_out_names: list[str]
    #: the LMS account's units to move, each completed to one variant per part first
    moving_units: list[list[Item]]


def plan(session: so.Session, lms_user: User, target: User) -> Plan:
    """Sort the assignment items either account holds by the rule of this module; raises
    :class:`ItemsBothAnswered` (nothing written) when both answered one."""
    sides: dict[int, dict[int, _Side]] = {}  # by unit key (variants.draw_key), then user id
    parts: dict[int, list[Item]] = {}
    users = (lms_user.id, target.id)
    answered = session.execute(
        sa.select(Submission.item_id, Submission.user_id).distinct()  # ids: no DISTINCT over JSON columns
        .join(Item, Item.id == Submission.item_id)
        .where(Submission.user_id.in_(users), Item.assignment_id.is_not(None))
    ).all()
    for item_id, user_id in answered:
        item = session.get_one(Item, item_id)
        key = variants.draw_key(item)
        parts.setdefault(key, list(item.derivation.parts) if item.derivation else [item])
        sides.setdefault(key, {}).setdefault(user_id, _Side()).answered = True
    drawn = session.execute(
        sa.select(Variant, Item).join(Item, Item.id == Variant.item_id)
        .where(Variant.user_id.in_(users), Item.assignment_id.is_not(None))
    )
    for variant, item in drawn:
        key = variants.draw_key(item)
        parts.setdefault(key, list(item.derivation.parts) if item.derivation else [item])
        side = sides.setdefault(key, {}).setdefault(variant.user_id, _Side())
        side.variants = [*(side.variants or []), variant]
    conflicts, left_out, left_out_names, moving = [], [], [], []
    for key, by_user in sides.items():
        theirs, older = by_user.get(lms_user.id, _Side()), by_user.get(target.id, _Side())
        if theirs.answered and older.answered:
            conflicts.append(unit_name(parts[key][0]))
        elif theirs.holds and older.holds:
            gone = older if theirs.answered else theirs
            left_out.extend(gone.variants or [])
            left_out_names.append(unit_name(parts[key][0]))
            if theirs.answered:
                moving.append(parts[key])
        elif theirs.holds:
            moving.append(parts[key])
    if conflicts:
        raise ItemsBothAnswered(sorted(conflicts))
    return Plan(left_out, sorted(left_out_names), moving)


def _complete(session: so.Session, unit: list[Item], user_id: int) -> None:
    """Store the student's variant of every part of ``unit`` that has none, at the unit's draw:
    a part not stored yet is drawn from the student's id, which changes with the account, and
    the parts of a derivation must keep sharing the instance their answers were to."""
    stored = {v.item_id: v for v in session.scalars(
        sa.select(Variant).where(Variant.user_id == user_id, Variant.item_id.in_([p.id for p in unit]))
    )}
    number = max((v.draw_number for v in stored.values()), default=0)
    for part in unit:
        if part.id not in stored:
            instance = variants.draw(part, variants.seed_for(part, user_id, number))
            session.add(Variant(item_id=part.id, user_id=user_id, draw_number=number, instance=instance))


def _reassign(session: so.Session, column: so.InstrumentedAttribute[Any], old: int, new: int) -> int:
    model = column.class_
    result = session.execute(sa.update(model).where(column == old).values({column.key: new}))
    return result.rowcount  # type: ignore[attr-defined, no-any-return]


def _merge_extensions(session: so.Session, lms_id: int, target_id: int) -> int:
    """Move the LMS account's extensions; where both accounts have one for the same assignment
    or item, keep one with the later date and the more attempts of the two: each was given
    to this student, and neither account's answers become late, or lose an attempt, by the join."""
    theirs = session.scalars(sa.select(Extension).where(Extension.user_id == lms_id)).all()
    older = {(e.assignment_id, e.item_id): e for e in session.scalars(
        sa.select(Extension).where(Extension.user_id == target_id)
    )}
    for extension in theirs:
        kept = older.get((extension.assignment_id, extension.item_id))
        if kept is None:
            extension.user_id = target_id
            continue
        dates = [d for d in (kept.due_at, extension.due_at) if d is not None]
        kept.due_at = max(dates) if dates else None
        kept.extra_attempts = max(kept.extra_attempts, extension.extra_attempts)
        session.delete(extension)
    session.flush()
    return len(theirs)


def _merge_grade_syncs(session: so.Session, lms_id: int, target_id: int) -> set[int]:
    """Move the LMS account's scores waiting for (or sent to) the LMS; the links they are on."""
    older = set(session.scalars(sa.select(LtiGradeSync.link_id).where(LtiGradeSync.user_id == target_id)))
    links = set()
    for sync in session.scalars(sa.select(LtiGradeSync).where(LtiGradeSync.user_id == lms_id)).all():
        links.add(sync.link_id)
        if sync.link_id in older:
            session.delete(sync)  # the older account's row is sent again below
        else:
            sync.user_id = target_id
    session.flush()
    return links


def _merge_enrolments(session: so.Session, lms_id: int, target_id: int) -> set[int]:
    """Move the LMS account's enrolments, the LMS's role winning where both are enrolled (it is
    the record of truth of the role in its course); the courses."""
    enrolments_of = sa.select(Enrolment).where(Enrolment.user_id == sa.bindparam("user_id"))
    older = {e.course_id: e for e in session.scalars(enrolments_of, {"user_id": target_id})}
    courses = set()
    for enrolment in session.scalars(enrolments_of, {"user_id": lms_id}).all():
        courses.add(enrolment.course_id)
        kept = older.get(enrolment.course_id)
        if kept is None:
            enrolment.user_id = target_id
        else:
            kept.role = enrolment.role
            session.delete(enrolment)
    session.flush()
    return courses


def _answered_assignments(session: so.Session, user_id: int) -> dict[int, int]:
    """The assignments the user answered, and their courses."""
    rows = session.execute(
        sa.select(Assignment.id, Assignment.course_id).distinct()
        .join(Item, Item.assignment_id == Assignment.id)
        .join(Submission, Submission.item_id == Item.id)
        .where(Submission.user_id == user_id)
    )
    return {assignment_id: course_id for assignment_id, course_id in rows}


def _left_behind(session: so.Session, user_id: int) -> list[str]:
    left = []
    for reference in sorted(user_references() - {KEPT_ON_MERGED}):
        table_name, column = reference.split(".")
        table = Base.metadata.tables[table_name]
        if session.scalar(sa.select(table.c[column]).where(table.c[column] == user_id).limit(1)) is not None:
            left.append(reference)
    return left


def merge(
    session: so.Session, lms_user: User, target: User, confirmed: str | None = None
) -> AccountMerge:
    """Move everything ``lms_user`` holds to ``target`` by the rule of this module, close
    ``lms_user`` and record it; flushes, the caller commits (or rolls back: a failure midway
    leaves both accounts as they were).

    ``confirmed``: the :attr:`Holdings.fingerprint` its user was shown and confirmed;
    :class:`HoldingsChanged` when the account holds something else by the time both are
    locked. Raises that, and :class:`ItemsBothAnswered`, before writing anything, and
    :class:`Unhandled` when the schema has a user reference with no rule.
    """
    unhandled = user_references() - USER_REFERENCES.keys()
    if unhandled:
        raise Unhandled(f"no rule for what a join does with {', '.join(sorted(unhandled))}")
    for user_id in sorted((lms_user.id, target.id)):  # one order: two joins at once never deadlock
        submissions.lock_user(session, user_id)  # no submission or re-draw comes between
    held = holdings(session, lms_user)
    if confirmed is not None and confirmed != held.fingerprint:
        raise HoldingsChanged(held)
    sorted_out = plan(session, lms_user, target)
    lms_id, target_id = lms_user.id, target.id

    for variant in sorted_out.left_out:
        session.delete(variant)
    session.flush()
    for unit in sorted_out.moving_units:
        _complete(session, unit, lms_id)
    session.flush()
    assignments = _answered_assignments(session, lms_id)
    courses = set(assignments.values())
    _reassign(session, Variant.user_id, lms_id, target_id)
    _reassign(session, Submission.user_id, lms_id, target_id)
    _reassign(session, PracticeSet.user_id, lms_id, target_id)
    _reassign(session, Redraw.user_id, lms_id, target_id)
    _reassign(session, Redraw.by_id, lms_id, target_id)
    _reassign(session, LtiPlatform.registered_by, lms_id, target_id)
    _reassign(session, AccountMerge.into_user_id, lms_id, target_id)
    extension_assignments = set(session.scalars(
        sa.select(Extension.assignment_id).where(Extension.user_id == lms_id)
    ))
    _merge_extensions(session, lms_id, target_id)
    courses |= _merge_enrolments(session, lms_id, target_id)
    _reassign(session, LtiIdentity.user_id, lms_id, target_id)
    links = _merge_grade_syncs(session, lms_id, target_id)
    tokens_revoked = tokens.revoke_all(session, lms_id)

    late_marks = 0
    for assignment in _assignments(session, set(assignments) | extension_assignments):
        courses.add(assignment.course_id)
        late_marks += extensions.mark_lateness(session, assignment, target_id)
    linked = set(session.scalars(
        sa.select(LtiResourceLink.assignment_id).where(LtiResourceLink.id.in_(links))
    ))
    scores_sent_again = ags.queue_scores(session, target_id, set(assignments) | (linked - {None}))

    if lms_user.is_instructor and not target.is_instructor:
        target.role = "instructor"  # as the LMS's next launch would make it
    lms_user.session_version += 1  # every session of the LMS account ends
    record = AccountMerge(
        from_user_id=lms_id,
        from_name=lms_user.name,
        into_user_id=target_id,
        course_ids=sorted(courses),
        moved={
            **asdict(held),
            "instances_left_out": sorted_out.left_out_names,
            "late_marks_changed": late_marks,
            "scores_sent_again": scores_sent_again,
            "tokens_revoked": tokens_revoked,
        },
    )
    session.add(record)
    session.flush()
    left = _left_behind(session, lms_id)
    if left:
        raise Unhandled(f"the join left rows on the account merged away, in {', '.join(left)}")
    return record


def _assignments(session: so.Session, ids: Iterable[int]) -> list[Assignment]:
    ids = sorted(ids)
    if not ids:
        return []
    return list(session.scalars(sa.select(Assignment).where(Assignment.id.in_(ids))))


def merges_of(session: so.Session, user_id: int, course_id: int | None = None) -> list[AccountMerge]:
    """The accounts merged into ``user_id``, oldest first (those concerning ``course_id`` only,
    when given)."""
    found = session.scalars(
        sa.select(AccountMerge).where(AccountMerge.into_user_id == user_id)
        .order_by(AccountMerge.merged_at, AccountMerge.id)
    )
    return [m for m in found if course_id is None or course_id in m.course_ids]
