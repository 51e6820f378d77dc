"""Regrading an assignment: every graded submission again from its stored answer.

A dry run (:func:`plan`) grades them all with the grader and catalog of today and,
when given, the item settings an instructor proposes (points, attempts), and says
which students go up or down and why; nothing is written. :func:`apply` stores the
new verdicts, each old one kept as a :class:`PastVerdict`, and the new settings.

Typed answers are graded in this process (pure numpy, a few hundred microseconds
each); function answers go to the sandbox pool, several at once.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so

from exercises import CATALOG_VERSION, InstanceError
from grader import __version__
from grader.judge.grading import grade
from grader.judge.verdict import Verdict
from grader.sandbox.pool import default_size
from grader.service import derivations, extensions, gradebook, lti, other_instance
from grader.service.instructor_models import PastVerdict
from grader.service.jobs import NOT_A_JUDGEMENT, verdict_columns
from grader.service.models import Assignment, Enrolment, Item, Submission, User, utcnow

SUBMISSIONS = Submission.__table__
STORE = (
    sa.update(SUBMISSIONS)
    .where(SUBMISSIONS.c.id == sa.bindparam("submission_id_"))
    .values(
        verdict=sa.bindparam("verdict"),
        score=sa.bindparam("score"),
        correct=sa.bindparam("correct"),
        codes=sa.bindparam("codes"),
        graded_at=sa.bindparam("graded_at"),
        grading_ms=sa.bindparam("grading_ms"),
    )
)
EDITABLE = ("points", "max_attempts")


@dataclass(frozen=True)
class ItemEdit:
    """Settings an instructor proposes for one item; None keeps what it has."""

    item_id: int
    points: float | None = None
    max_attempts: int | None = None
    unlimited: bool = False  # max_attempts None means "keep"; this means "no limit"


@dataclass
class Regraded:
    """One submission graded again."""

    submission_id: int
    user_id: int
    item_id: int
    old: Mapping[str, Any]  # score, correct, codes, catalog and grader versions
    new: Verdict | None  # None: it could not be graded again (the old verdict stays)
    error: str | None = None

    @property
    def changed(self) -> bool:
        if self.new is None:
            return False
        return (
            self.old["score"] != self.new.score
            or self.old["correct"] != self.new.correct
            or list(self.old["codes"] or []) != self.new.codes
        )

    @property
    def versions_changed(self) -> bool:
        return self.new is not None and (
            self.old["catalog_version"] != self.new.catalog_version
            or self.old["grader_version"] != self.new.grader_version
        )


@dataclass
class StudentChange:
    """A student whose points on the assignment move, and why."""

    user_id: int
    name: str
    old_points: float
    new_points: float
    reasons: list[str] = field(default_factory=list)

    @property
    def delta(self) -> float:
        return round(self.new_points - self.old_points, 4)


@dataclass
class Plan:
    assignment_id: int
    regraded: list[Regraded]
    students: list[StudentChange]  # only those who move
    edits: list[ItemEdit]
    stored_versions: dict[str, int]  # "catalog 1, grader 0.1.0" -> submissions
    seconds: float

    @property
    def changed(self) -> list[Regraded]:
        return [r for r in self.regraded if r.changed]

    @property
    def failed(self) -> list[Regraded]:
        return [r for r in self.regraded if r.new is None]

    @property
    def up(self) -> list[StudentChange]:
        return [s for s in self.students if s.delta > 0]

    @property
    def down(self) -> list[StudentChange]:
        return [s for s in self.students if s.delta < 0]


def _regrade_one(row: Any) -> tuple[Verdict | None, str | None]:
    try:
        # the same seed as the first grading (jobs.grade): a function meets the same suite
        options: dict[str, Any] = {}
        if row.earlier is not None:  # a derivation's part: the earlier parts it was graded with
            options["earlier"], options["share"] = derivations.earlier_answers(row.earlier)
        verdict = grade(row.instance, row.answer, row.format, seed=row.id, **options)
    except (InstanceError, ValueError) as error:
        return None, f"{type(error).__name__}: {error}"
    unavailable = NOT_A_JUDGEMENT.intersection(verdict.codes)
    if unavailable:
        return None, "; ".join(f.message for f in verdict.feedback if f.code in unavailable)
    return verdict, None


def _graded_rows(session: so.Session, assignment: Assignment) -> list[Any]:
    """The graded submissions of the course's members (students, and instructors trying it)."""
    # an account enrolled nowhere (one a join closed) holds only answers set apart, counted for
    # nothing: graded again, they would only swell the counts
    members = gradebook.members(assignment.course_id)
    return list(
        session.execute(
            sa.select(
                Submission.id, Submission.user_id, Submission.item_id, Submission.instance,
                Submission.answer, Submission.format, Submission.submitted_at, Submission.score,
                Submission.correct, Submission.codes, Submission.verdict, Submission.earlier,
            )
            .join(Item, Item.id == Submission.item_id)
            .where(Item.assignment_id == assignment.id, Submission.verdict.is_not(None),
                   Submission.user_id.in_(members))
            .order_by(Submission.submitted_at, Submission.id)
        )
    )


def _versions(verdict: Mapping[str, Any] | None) -> tuple[str | None, str | None]:
    verdict = verdict or {}
    return verdict.get("catalog_version"), verdict.get("grader_version")


def plan(
    session: so.Session,
    assignment: Assignment,
    edits: Sequence[ItemEdit] = (),
    threads: int | None = None,
) -> Plan:
    """Grade every graded submission of ``assignment`` again; write nothing."""
    started = time.perf_counter()
    items = {item.id: item for item in assignment.items}
    for edit in edits:
        if edit.item_id not in items:
            raise ValueError(f"item {edit.item_id} is not one of assignment {assignment.id}'s")
    rows = _graded_rows(session, assignment)
    typed = [row for row in rows if row.format != "python"]
    functions = [row for row in rows if row.format == "python"]
    outcomes: dict[int, tuple[Verdict | None, str | None]] = {
        row.id: _regrade_one(row) for row in typed
    }
    if functions:
        with ThreadPoolExecutor(max_workers=threads or default_size()) as running:
            for row, outcome in zip(functions, running.map(_regrade_one, functions), strict=True):
                outcomes[row.id] = outcome
    indexes: dict[int, other_instance.VariantIndex] = {}
    for row in rows:  # a wrong answer right for another student's variant says so, as when first graded
        new, _ = outcomes[row.id]
        if new is not None and not new.correct:
            if row.item_id not in indexes:
                indexes[row.item_id] = other_instance.VariantIndex.of(session, row.item_id)
            outcomes[row.id] = (
                other_instance.mark(new, indexes[row.item_id], row.user_id, row.answer, row.format),
                None,
            )
    regraded = []
    stored_versions: dict[str, int] = {}
    for row in rows:
        catalog, grader = _versions(row.verdict)
        key = f"catalog {catalog}, grader {grader}"
        stored_versions[key] = stored_versions.get(key, 0) + 1
        old = {"score": row.score, "correct": row.correct, "codes": row.codes,
               "catalog_version": catalog, "grader_version": grader}
        new, error = outcomes[row.id]
        regraded.append(Regraded(row.id, row.user_id, row.item_id, old, new, error))
    students = _movers(session, assignment, rows, regraded, list(edits))
    return Plan(assignment.id, regraded, students, list(edits), stored_versions,
                time.perf_counter() - started)


def _limit(item: Item, edit: ItemEdit | None, extra: int) -> int | None:
    limit = item.max_attempts
    if edit is not None and edit.unlimited:
        limit = None
    elif edit is not None and edit.max_attempts is not None:
        limit = edit.max_attempts
    return None if limit is None else limit + extra


def _standing(scores: list[float], policy: str) -> float:
    if not scores:
        return 0.0
    return scores[-1] if policy == "latest" else max(scores)


def _movers(
    session: so.Session,
    assignment: Assignment,
    rows: list[Any],
    regraded: list[Regraded],
    edits: list[ItemEdit],
) -> list[StudentChange]:
    """Each student's points before and after, by the assignment's policy, and why they move."""
    items = {item.id: item for item in assignment.items}
    by_item = {edit.item_id: edit for edit in edits}
    # the course's students: an instructor's tries are graded again, and count for no one
    students = set(session.scalars(sa.select(Enrolment.user_id).where(
        Enrolment.course_id == assignment.course_id, Enrolment.role == "student")))
    user_ids = sorted({row.user_id for row in rows} & students)
    allowed = extensions.allowances(session, assignment, user_ids)
    old_scores: dict[tuple[int, int], list[float]] = {}
    new_scores: dict[tuple[int, int], list[float]] = {}
    changed_codes: dict[tuple[int, int], list[str]] = {}
    for entry in regraded:
        if entry.user_id not in students:
            continue
        key = (entry.user_id, entry.item_id)
        old_scores.setdefault(key, []).append(entry.old["score"])
        new_score = entry.new.score if entry.new is not None else entry.old["score"]
        new_scores.setdefault(key, []).append(new_score)
        if entry.changed and entry.new is not None:
            before = ", ".join(entry.old["codes"] or []) or "no code"
            after = ", ".join(entry.new.codes) or "no code"
            changed_codes.setdefault(key, []).append(
                f"submission {entry.submission_id}: {entry.old['score']:g} ({before}) -> "
                f"{entry.new.score:g} ({after})"
            )
    names = dict(session.execute(sa.select(User.id, User.name).where(User.id.in_(user_ids))).all())
    movers = []
    for user_id in user_ids:
        old_total = new_total = 0.0
        reasons: list[str] = []
        for item_id, item in items.items():
            key = (user_id, item_id)
            edit = by_item.get(item_id)
            # attempts re-draws gave back were used on earlier questions, and count as those did
            limit = _limit(item, edit, allowed[key].extra_attempts + allowed[key].given_back)
            old_points_each = item.points
            new_points_each = edit.points if edit is not None and edit.points is not None else item.points
            counted = new_scores.get(key, [])
            dropped = 0 if limit is None else max(0, len(counted) - limit)
            counted = counted if limit is None else counted[:limit]
            old = _standing(old_scores.get(key, []), assignment.score_policy) * old_points_each
            new = _standing(counted, assignment.score_policy) * new_points_each
            old_total, new_total = old_total + old, new_total + new
            if round(new - old, 4) == 0:
                continue
            label = f"item {item.position + 1} ({item.kind})"
            reasons.extend(f"{label}, {why}" for why in changed_codes.get(key, []))
            if new_points_each != old_points_each:
                reasons.append(f"{label}: worth {new_points_each:g} points instead of {old_points_each:g}")
            if dropped:
                reasons.append(f"{label}: {dropped} attempt(s) beyond the limit of {limit} no longer count")
        if round(new_total - old_total, 4) != 0:
            movers.append(StudentChange(user_id, names.get(user_id, str(user_id)),
                                        round(old_total, 4), round(new_total, 4), reasons))
    return movers


def apply(session: so.Session, plan_: Plan, by: str, now: datetime | None = None) -> int:
    """Store the plan's new verdicts (the old ones kept in the history) and its item settings,
    and commit; how many verdicts were replaced."""
    now = now or utcnow()
    replaced = [r for r in plan_.regraded if r.changed or r.versions_changed]
    old_versions = ", ".join(sorted(plan_.stored_versions))
    reason = f"regrade by {by}: from {old_versions} to catalog {CATALOG_VERSION}, grader {__version__}"
    edits = [_describe(edit) for edit in plan_.edits]
    if edits:
        reason += "; " + "; ".join(edits)
    try:
        if replaced:
            stored = {
                row.id: row
                for row in session.execute(
                    sa.select(Submission.id, Submission.verdict, Submission.score,
                              Submission.correct, Submission.codes, Submission.graded_at)
                    .where(Submission.id.in_([r.submission_id for r in replaced]))
                )
            }
            session.execute(
                sa.insert(PastVerdict),
                [
                    {
                        "submission_id": r.submission_id,
                        "verdict": stored[r.submission_id].verdict,
                        "score": stored[r.submission_id].score,
                        "correct": stored[r.submission_id].correct,
                        "codes": stored[r.submission_id].codes,
                        "graded_at": stored[r.submission_id].graded_at,
                        "catalog_version": r.old["catalog_version"],
                        "grader_version": r.old["grader_version"],
                        "replaced_at": now,
                        "reason": reason,
                    }
                    for r in replaced
                ],
            )
            session.execute(
                STORE,
                [
                    {"submission_id_": r.submission_id,
                     **verdict_columns(r.new, now, r.new.timings_ms.get("grading", 0.0))}
                    for r in replaced
                    if r.new is not None
                ],
            )
        # the LMS's copy of each student whose points move, queued with the new verdicts
        one_of_theirs = {r.user_id: r.submission_id for r in plan_.regraded}
        for student in plan_.students:
            lti.score_changed(session.connection(), one_of_theirs[student.user_id])
        for edit in plan_.edits:
            item = session.get(Item, edit.item_id)
            assert item is not None
            if edit.points is not None:
                item.points = edit.points
            if edit.unlimited:
                item.max_attempts = None
            elif edit.max_attempts is not None:
                item.max_attempts = edit.max_attempts
        session.commit()
    except BaseException:
        session.rollback()
        raise
    return len(replaced)


def _describe(edit: ItemEdit) -> str:
    parts = []
    if edit.points is not None:
        parts.append(f"points {edit.points:g}")
    if edit.unlimited:
        parts.append("attempts unlimited")
    elif edit.max_attempts is not None:
        parts.append(f"attempts {edit.max_attempts}")
    return f"item {edit.item_id}: " + ", ".join(parts)


def history(session: so.Session, submission_id: int) -> list[PastVerdict]:
    """A submission's replaced verdicts, oldest first."""
    return list(
        session.scalars(
            sa.select(PastVerdict)
            .where(PastVerdict.submission_id == submission_id)
            .order_by(PastVerdict.replaced_at, PastVerdict.id)
        )
    )

