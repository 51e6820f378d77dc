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
  silently changes a grade; an instructor decides (:mod:`join_requests`): for each such
  item, whose record counts, the LMS account's or the older account's. The other record
  (its answers, its instance, its re-draws) is set apart: it stays on, or goes to, the
  account merged away. That account is in no course, so its answers count for nothing
  (no attempt, no grade, in no gradebook, statistics, analysis, regrade or LMS score, and
  its instances are no other answer's, as every account not enrolled), and none is
  deleted: the record of the join lists them for the instructors.
- one account answered it, and the other holds only an instance it never answered (an
  instructor re-drew it before any answer): the answered instance is kept with its answers,
  and the unanswered one is left out (recorded). No score or attempt is on the one left out.
- neither answered it and both hold an instance: the older account's is kept.

So every answer keeps the instance it was graded on, the item's current instance is the one
its answers were to, each grade is the one that account earned, and the attempts are the
ones used. The LMS is sent the merged assignment scores again.

The account merged away is left closed: no LMS identity, enrolment, password or token, and
its sessions end; it holds nothing but the records set apart. Its row stays, so that its id is
never given to anyone else; the :class:`AccountMerge` record says who joined, when and what
moved (and what was set apart), on the student's timeline for the instructors of the courses
concerned.
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
from grader.service.lti.models import (
    AccountMerge,
    JoinRequest,
    LtiGradeSync,
    LtiIdentity,
    LtiPlatform,
    LtiResourceLink,
)
from grader.service.models import (
    Assignment,
    Base,
    Enrolment,
    Item,
    PracticeSet,
    Submission,
    User,
    Variant,
    utcnow,
)

#: Every column that refers to a user, and what a join does with the LMS account's rows there.
#: A column added to the schema and not named here stops every join (:class:`Unhandled`)
#: until its rule is written: its rows would otherwise stay with an account no one opens.
USER_REFERENCES: dict[str, str] = {
    "api_tokens.user_id": "revoked: a token of the LMS account opens no other account",
    "enrolments.user_id": "moved; where both accounts are enrolled, one enrolment with the LMS's role",
    "practice_sets.user_id": "moved, with their items",
    "variants.user_id": "moved, but for an item both hold (see the rule above)",
    "submissions.user_id": "moved, with their verdicts, but on an item both answered (see the rule above)",
    "extensions.user_id": "moved; where both have one for the same assignment or item, one with the "
                          "later date and the more attempts",
    "redraws.user_id": "moved (they give back attempts on the instances that move), but with a record "
                       "set apart",
    "redraws.by_id": "moved: the re-draws an instructor made from the LMS account",
    "lti_identities.user_id": "moved: the LMS opens the older account from then on",
    "lti_grade_syncs.user_id": "moved, and sent again with the merged score",
    "lti_platforms.registered_by": "moved",
    "account_merges.into_user_id": "moved",
    "account_merges.from_user_id": "kept: the record of the account merged away",
    "join_requests.lms_user_id": "kept: the request stays with the account it asked to join",
    "join_requests.target_user_id": "moved (an account the LMS made is no request's older account)",
    "join_requests.resolved_by": "moved: the requests an instructor resolved from the LMS account",
}
#: the references a join leaves on the account merged away
KEPT_ON_MERGED = frozenset({"account_merges.from_user_id", "join_requests.lms_user_id"})
#: the references a join leaves on the account merged away for the items whose record it sets apart
SET_APART = frozenset({"submissions.user_id", "variants.user_id", "redraws.user_id"})
#: whose record counts on an item both accounts answered: the LMS account's, or the older account's
KEEP_CHOICES = ("lms", "older")


class Unhandled(RuntimeError):
    """The schema has a user reference that :data:`USER_REFERENCES` does not name."""


@dataclass(frozen=True)
class Side:
    """One account's answers to an item both answered."""

    answers: int
    best_score: float | None


@dataclass(frozen=True)
class Conflict:
    """An assignment item both accounts answered (a derivation's parts are one)."""

    #: its id as the instructor's choice names it: the item's (a derivation's: its first part's)
    question_id: int
    name: str
    course_id: int
    item_ids: tuple[int, ...]
    lms: Side
    older: Side


class ItemsBothAnswered(ValueError):
    """Both accounts answered these items (``conflicts``, named), and no one chose whose record
    counts: the accounts are not merged."""

    def __init__(self, conflicts: list[Conflict]) -> None:
        self.conflicts = conflicts
        self.names = sorted(conflict.name for conflict in conflicts)
        super().__init__(
            "both accounts have answers to " + "; ".join(self.names) + ". One grade cannot be made of "
            "two students' records without changing it, so nothing was moved: an instructor chooses "
            "whose record counts"
        )


class ChoicesUnclear(ValueError):
    """An instructor's choices name other items than those both accounts answered, or a choice
    that is neither ``lms`` nor ``older``."""


@dataclass(frozen=True)
class Decision:
    """An instructor's choice, for each item both answered (by its question id), of whose record
    counts (:data:`KEEP_CHOICES`), made on the :func:`state_fingerprint` they were shown."""

    keep: dict[int, str]
    state: str


class HoldingsChanged(ValueError):
    """What the LMS account holds is no longer what its user confirmed (``held``: what it is now),
    or, for a :class:`Decision`, the items both answered changed (``conflicts``: what they are now)."""

    def __init__(self, held: Holdings, conflicts: list[Conflict] | None = None) -> None:
        super().__init__("what the accounts hold changed since it was shown")
        self.held = held
        self.conflicts = conflicts


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

    answers: int = 0
    best_score: float | None = None
    variants: list[Variant] | None = None

    @property
    def answered(self) -> bool:
        return self.answers > 0

    @property
    def holds(self) -> bool:
        return self.answered or bool(self.variants)


@dataclass(frozen=True)
class SetApart:
    """An item both answered, and whose record counts (:data:`KEEP_CHOICES`); the other goes aside."""

    conflict: Conflict
    counts: str
    items: list[Item]


@dataclass(frozen=True)
class Plan:
    """What a join of ``lms_user`` into ``target`` does with the assignment items both hold."""

    #: the instances that go (the unanswered side of an item both hold)
    left_out: list[Variant]
    #: the names of the items whose instance was left out, for the record
    left_out_names: list[str]
    #: the LMS account's units to move, each completed to one variant per part first
    moving_units: list[list[Item]]
    #: the items both answered, by question id
    conflicts: list[Conflict]
    #: those of them with a choice made
    set_apart: list[SetApart]

    @property
    def unresolved(self) -> list[Conflict]:
        chosen = {apart.conflict.question_id for apart in self.set_apart}
        return [conflict for conflict in self.conflicts if conflict.question_id not in chosen]


def state_fingerprint(held: Holdings, conflicts: list[Conflict]) -> str:
    """What an instructor decides on, in one word: the LMS account's holdings, and each item both
    answered with either account's answers to it. A decision on another state is shown again."""
    return held.fingerprint + "/" + ",".join(
        f"{c.question_id}:{c.lms.answers}:{c.older.answers}"
        for c in sorted(conflicts, key=lambda c: c.question_id)
    )


def plan(
    session: so.Session, lms_user: User, target: User, keep: dict[int, str] | None = None
) -> Plan:
    """Sort the assignment items either account holds by the rule of this module; the items both
    answered are set apart as ``keep`` chooses (by question id), or left unresolved."""
    keep = keep or {}
    sides: dict[int, dict[int, _Side]] = {}  # by unit key (variants.draw_key), then user id
    parts: dict[int, list[Item]] = {}
    users = (lms_user.id, target.id)
    answered = session.execute(
        sa.select(Submission.item_id, Submission.user_id, sa.func.count(Submission.id),
                  sa.func.max(Submission.score))  # grouped by ids: no DISTINCT over JSON columns
        .join(Item, Item.id == Submission.item_id)
        .where(Submission.user_id.in_(users), Item.assignment_id.is_not(None))
        .group_by(Submission.item_id, Submission.user_id)
    ).all()
    for item_id, user_id, count, best in answered:
        item = session.get_one(Item, item_id)
        key = variants.draw_key(item)
        parts.setdefault(key, list(item.derivation.parts) if item.derivation else [item])
        side = sides.setdefault(key, {}).setdefault(user_id, _Side())
        side.answers += count
        if best is not None:
            side.best_score = best if side.best_score is None else max(side.best_score, best)
    drawn = session.execute(
        sa.select(Variant, Item).join(Item, Item.id == Variant.item_id)
        .where(Variant.user_id.in_(users), Item.assignment_id.is_not(None))
    )
    for variant, item in drawn:
        key = variants.draw_key(item)
        parts.setdefault(key, list(item.derivation.parts) if item.derivation else [item])
        side = sides.setdefault(key, {}).setdefault(variant.user_id, _Side())
        side.variants = [*(side.variants or []), variant]
    conflicts, set_apart, left_out, left_out_names, moving = [], [], [], [], []
    for key, by_user in sides.items():
        theirs, older = by_user.get(lms_user.id, _Side()), by_user.get(target.id, _Side())
        unit = parts[key]
        if theirs.answered and older.answered:
            conflict = _conflict(unit, theirs, older)
            conflicts.append(conflict)
            chosen = keep.get(conflict.question_id)
            if chosen is not None:
                set_apart.append(SetApart(conflict, chosen, unit))
                if chosen == "lms":
                    moving.append(unit)
        elif theirs.holds and older.holds:
            gone = older if theirs.answered else theirs
            left_out.extend(gone.variants or [])
            left_out_names.append(unit_name(unit[0]))
            if theirs.answered:
                moving.append(unit)
        elif theirs.holds:
            moving.append(unit)
    conflicts.sort(key=lambda c: c.question_id)
    return Plan(left_out, sorted(left_out_names), moving, conflicts, set_apart)


def _conflict(unit: list[Item], theirs: _Side, older: _Side) -> Conflict:
    first = unit[0]
    assert first.assignment is not None
    return Conflict(
        question_id=first.id,
        name=unit_name(first),
        course_id=first.assignment.course_id,
        item_ids=tuple(part.id for part in unit),
        lms=Side(theirs.answers, theirs.best_score),
        older=Side(older.answers, older.best_score),
    )


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


def _reassign(
    session: so.Session, column: so.InstrumentedAttribute[Any], old: int, new: int,
    *but: sa.ColumnElement[bool],
) -> int:
    model = column.class_
    result = session.execute(sa.update(model).where(column == old, *but).values({column.key: new}))
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


def _left_behind(session: so.Session, user_id: int, set_apart_items: set[int]) -> list[str]:
    left = []
    for reference in sorted(user_references() - KEPT_ON_MERGED):
        table_name, column = reference.split(".")
        table = Base.metadata.tables[table_name]
        found = sa.select(table.c[column]).where(table.c[column] == user_id)
        if reference in SET_APART:
            found = found.where(table.c.item_id.not_in(set_apart_items))
        if session.scalar(found.limit(1)) is not None:
            left.append(reference)
    return left


@dataclass(frozen=True)
class _Aside:
    """The older account's record on items whose LMS record counts, on its way to the account
    merged away: its submissions' and re-draws' ids, and its variants (out of the table until
    the LMS account's have taken their place: one variant per item and account)."""

    answers: list[int]
    redraws: list[int]
    variants: list[Variant]


def _take_aside(session: so.Session, user_id: int, item_ids: set[int]) -> _Aside:
    if not item_ids:
        return _Aside([], [], [])
    answers = list(session.scalars(
        sa.select(Submission.id).where(Submission.user_id == user_id, Submission.item_id.in_(item_ids))
    ))
    redrawn = list(session.scalars(
        sa.select(Redraw.id).where(Redraw.user_id == user_id, Redraw.item_id.in_(item_ids))
    ))
    drawn = list(session.scalars(
        sa.select(Variant).where(Variant.user_id == user_id, Variant.item_id.in_(item_ids))
    ))
    for variant in drawn:
        session.delete(variant)
    session.flush()
    return _Aside(answers, redrawn, [
        Variant(item_id=v.item_id, draw_number=v.draw_number, instance=v.instance, created_at=v.created_at)
        for v in drawn
    ])


def merge(
    session: so.Session, lms_user: User, target: User, confirmed: str | None = None,
    decision: Decision | None = None,
) -> AccountMerge:
    """Move everything ``lms_user`` holds to ``target`` by the rule of this module, close
    ``lms_user`` and record it; flushes, the caller commits (or rolls back: a failure midway
    leaves both accounts as they were).

    ``confirmed``: the :attr:`Holdings.fingerprint` its user was shown and confirmed;
    :class:`HoldingsChanged` when the account holds something else by the time both are
    locked. ``decision``: an instructor's choices for the items both answered, made on the
    :func:`state_fingerprint` they were shown; :class:`HoldingsChanged` likewise when the state
    is another by then, :class:`ChoicesUnclear` when they do not name exactly those items.
    Raises those, and :class:`ItemsBothAnswered` (an item both answered and no choice made),
    before writing anything, and :class:`Unhandled` when the schema has a user reference with
    no rule.
    """
    unhandled = user_references() - USER_REFERENCES.keys()
    if unhandled:
        raise Unhandled(f"no rule for what a join does with {', '.join(sorted(unhandled))}")
    for user_id in sorted((lms_user.id, target.id)):  # one order: two joins at once never deadlock
        submissions.lock_user(session, user_id)  # no submission or re-draw comes between
    held = holdings(session, lms_user)
    if confirmed is not None and confirmed != held.fingerprint:
        raise HoldingsChanged(held)
    sorted_out = plan(session, lms_user, target, decision.keep if decision else None)
    if decision is not None:
        if decision.state != state_fingerprint(held, sorted_out.conflicts):
            raise HoldingsChanged(held, sorted_out.conflicts)
        _check_choices(decision, sorted_out.conflicts)
    if sorted_out.unresolved:
        raise ItemsBothAnswered(sorted_out.unresolved)
    lms_id, target_id = lms_user.id, target.id
    theirs_aside = {i.id for apart in sorted_out.set_apart if apart.counts == "older" for i in apart.items}
    older_aside = {i.id for apart in sorted_out.set_apart if apart.counts == "lms" for i in apart.items}

    for variant in sorted_out.left_out:
        session.delete(variant)
    session.flush()
    for unit in sorted_out.moving_units:
        _complete(session, unit, lms_id)
    for apart in sorted_out.set_apart:
        if apart.counts == "lms":  # the older account's record goes aside on the numbers it answered
            _complete(session, apart.items, target_id)
    session.flush()
    aside = _take_aside(session, target_id, older_aside)
    assignments = _answered_assignments(session, lms_id)
    courses = set(assignments.values())
    _reassign(session, Variant.user_id, lms_id, target_id, Variant.item_id.not_in(theirs_aside))
    _reassign(session, Submission.user_id, lms_id, target_id, Submission.item_id.not_in(theirs_aside))
    _reassign(session, PracticeSet.user_id, lms_id, target_id)
    _reassign(session, Redraw.user_id, lms_id, target_id, Redraw.item_id.not_in(theirs_aside))
    _reassign(session, Redraw.by_id, lms_id, target_id)
    _reassign(session, LtiPlatform.registered_by, lms_id, target_id)
    _reassign(session, AccountMerge.into_user_id, lms_id, target_id)
    _reassign(session, JoinRequest.target_user_id, lms_id, target_id)
    _reassign(session, JoinRequest.resolved_by, lms_id, target_id)
    if aside.answers:
        session.execute(sa.update(Submission).where(Submission.id.in_(aside.answers)).values(user_id=lms_id))
    if aside.redraws:
        session.execute(sa.update(Redraw).where(Redraw.id.in_(aside.redraws)).values(user_id=lms_id))
    for variant in aside.variants:
        variant.user_id = lms_id
        session.add(variant)
    session.flush()
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
            "set_apart": [
                {
                    "question": apart.conflict.name,
                    "question_id": apart.conflict.question_id,
                    "item_ids": list(apart.conflict.item_ids),
                    "counts": apart.counts,
                    "answers_set_apart": (
                        apart.conflict.older.answers if apart.counts == "lms" else apart.conflict.lms.answers
                    ),
                }
                for apart in sorted(sorted_out.set_apart, key=lambda a: a.conflict.question_id)
            ],
        },
    )
    session.add(record)
    session.flush()
    session.execute(  # a request the student left pending is answered by the join, however it came
        sa.update(JoinRequest)
        .where(JoinRequest.lms_user_id == lms_id, JoinRequest.state == "pending")
        .values(state="joined", resolved_at=utcnow(), merge_id=record.id)
    )
    left = _left_behind(session, lms_id, theirs_aside | older_aside)
    if left:
        raise Unhandled(f"the join left rows on the account merged away, in {', '.join(left)}")
    return record


def _check_choices(decision: Decision, conflicts: list[Conflict]) -> None:
    wanted = {conflict.question_id for conflict in conflicts}
    missing, extra = wanted - decision.keep.keys(), decision.keep.keys() - wanted
    problems = []
    if missing:
        problems.append(f"no choice for question {', '.join(map(str, sorted(missing)))}")
    if extra:
        problems.append(f"question {', '.join(map(str, sorted(extra)))} is not one both accounts answered")
    unknown = sorted({choice for choice in decision.keep.values()} - set(KEEP_CHOICES))
    if unknown:
        problems.append(f"a choice is {' or '.join(KEEP_CHOICES)}, not {', '.join(map(repr, unknown))}")
    if problems:
        raise ChoicesUnclear("; ".join(problems))


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


def set_apart_answers(
    session: so.Session, record: AccountMerge, course_id: int | None = None
) -> list[Submission]:
    """The answers a join set apart (those left on the account merged away), oldest first; those
    to ``course_id``'s assignments only, when given."""
    if record.from_user_id is None:
        return []
    found = sa.select(Submission).where(Submission.user_id == record.from_user_id)
    if course_id is not None:
        found = found.join(Item, Item.id == Submission.item_id).join(
            Assignment, Assignment.id == Item.assignment_id
        ).where(Assignment.course_id == course_id)
    return list(session.scalars(found.order_by(Submission.submitted_at, Submission.id)))
