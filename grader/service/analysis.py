"""Item analysis of an assignment: how hard each item is, how well it separates the class,
and which mistakes it draws, overall and by the instance's parameters (K, n, layout).

Per item, over the course's students who answered it:

- facility: the mean of their best scores;
- discrimination: the mean best score (0 for no answer) of the upper 27% of the class by
  assignment total, less that of the lower 27% (from -1 to 1; the classical D index);
- first try: the share whose first graded answer was right;
- attempts to the first correct answer: the mean, over those who got there;
- each misconception code: the share of students who showed it at least once.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import sqlalchemy as sa
import sqlalchemy.orm as so

from grader.service import gradebook
from grader.service.models import Assignment, Enrolment, Item, Submission

GROUP_SHARE = 0.27  # Kelley's upper and lower groups
CSV_COLUMNS = (
    "item", "position", "kind", "K", "n", "layout", "students", "facility", "discrimination",
    "first_try_correct", "attempts_to_first_correct", "codes",
)


@dataclass
class Figures:
    """One item's figures over a set of students (all, or those of one parameter group)."""

    students: int
    facility: float | None
    first_try_correct: float | None
    attempts_to_first_correct: float | None
    codes: dict[str, float]


@dataclass
class Group(Figures):
    K: int | None = None
    n: int | None = None
    layout: str = "numerator"


@dataclass
class ItemAnalysis(Figures):
    item_id: int = 0
    position: int = 0
    kind: str = ""
    discrimination: float | None = None
    groups: list[Group] = field(default_factory=list)


@dataclass
class Analysis:
    assignment_id: int
    enrolled: int
    group_size: int  # students in each of the upper and lower groups
    items: list[ItemAnalysis]

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class _Record:
    """One student's answers to one item, in order."""

    attempts: int = 0
    best: float | None = None
    first_correct: bool | None = None
    correct_at: int | None = None
    codes: set[str] = field(default_factory=set)
    parameters: tuple[int | None, int | None, str] = (None, None, "numerator")


def parameters(instance: Mapping[str, Any]) -> tuple[int | None, int | None, str]:
    """(K, n, layout) of an instance, read from its given values."""
    layout = str(instance.get("layout", "numerator"))
    if "W" in instance:
        W = np.asarray(instance["W"])
        return (int(W.shape[1]) if W.ndim == 2 else None), int(W.shape[0]), layout
    if "z" in instance:
        return int(np.asarray(instance["z"]).size), None, layout
    return None, None, layout


def _round(value: float | None) -> float | None:
    return None if value is None or math.isnan(value) else round(float(value), 4)


def _figures(records: list[_Record]) -> Figures:
    answered = [r for r in records if r.best is not None]
    reached = [r.correct_at for r in answered if r.correct_at is not None]
    shown: dict[str, int] = {}
    for record in answered:
        for code in record.codes:
            shown[code] = shown.get(code, 0) + 1
    count = len(answered)
    return Figures(
        students=count,
        facility=_round(np.mean([r.best for r in answered])) if count else None,
        first_try_correct=_round(np.mean([bool(r.first_correct) for r in answered])) if count else None,
        attempts_to_first_correct=_round(np.mean(reached)) if reached else None,
        codes={
            code: round(n / count, 4) for code, n in sorted(shown.items(), key=lambda kv: (-kv[1], kv[0]))
        },
    )


def _records(
    session: so.Session, assignment: Assignment, student_ids: set[int]
) -> dict[tuple[int, int], _Record]:
    rows = session.execute(
        sa.select(Submission.item_id, Submission.user_id, Submission.score, Submission.correct,
                  Submission.codes, Submission.instance)
        .join(Item, Item.id == Submission.item_id)
        .where(Item.assignment_id == assignment.id, Submission.score.is_not(None))
        .order_by(Submission.submitted_at, Submission.id)
    )
    records: dict[tuple[int, int], _Record] = {}
    for item_id, user_id, score, correct, codes, instance in rows:
        if user_id not in student_ids:  # instructors trying an item out are no part of it
            continue
        record = records.setdefault((user_id, item_id), _Record())
        if record.attempts == 0:
            record.parameters = parameters(instance)
        record.attempts += 1
        record.codes.update(codes or [])
        if record.first_correct is None:
            record.first_correct = bool(correct)
        record.best = score if record.best is None else max(record.best, score)
        if correct and record.correct_at is None:
            record.correct_at = record.attempts
    return records


def analyse(session: so.Session, assignment: Assignment) -> Analysis:
    student_ids = sorted(
        session.scalars(
            sa.select(Enrolment.user_id).where(
                Enrolment.course_id == assignment.course_id, Enrolment.role == "student"
            )
        )
    )
    records = _records(session, assignment, set(student_ids))
    # totals as the gradebook counts them (each assignment's score policy and points)
    cells = gradebook.cells(session, [assignment], student_ids)
    totals = np.array([sum(cells[u, item.id].points for item in assignment.items) for u in student_ids])
    group_size = max(1, round(GROUP_SHARE * len(student_ids))) if len(student_ids) >= 2 else 0
    order = np.argsort(totals, kind="stable")
    lower, upper = order[:group_size], order[len(order) - group_size:]
    items = []
    for item in assignment.items:
        mine = [records.get((u, item.id)) for u in student_ids]
        bests = np.array([r.best if r is not None and r.best is not None else 0.0 for r in mine])
        discrimination = (
            _round(bests[upper].mean() - bests[lower].mean()) if group_size else None
        )
        answered = [r for r in mine if r is not None]
        by_parameters: dict[tuple[int | None, int | None, str], list[_Record]] = {}
        for record in answered:
            by_parameters.setdefault(record.parameters, []).append(record)
        groups = [
            Group(**asdict(_figures(group)), K=K, n=n, layout=layout)
            for (K, n, layout), group in sorted(
                by_parameters.items(), key=lambda kv: (kv[0][0] or 0, kv[0][1] or 0, kv[0][2])
            )
        ]
        items.append(ItemAnalysis(
            **asdict(_figures(answered)), item_id=item.id, position=item.position + 1,
            kind=item.kind, discrimination=discrimination, groups=groups,
        ))
    return Analysis(assignment.id, len(student_ids), group_size, items)


def _cell(value: Any) -> str:
    return "" if value is None else str(value)


def to_csv(analysis: Analysis) -> str:
    """One row per item (parameters blank), then one per parameter group of it."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for item in analysis.items:
        rows: list[tuple[Figures, Any, Any, Any, Any]] = [(item, "", "", "", item.discrimination)]
        rows += [(g, g.K, g.n, g.layout, "") for g in item.groups]
        for figures, K, n, layout, discrimination in rows:
            codes = ";".join(f"{code}:{share}" for code, share in figures.codes.items())
            writer.writerow([
                item.item_id, item.position, item.kind, _cell(K), _cell(n), layout, figures.students,
                _cell(figures.facility), _cell(discrimination), _cell(figures.first_try_correct),
                _cell(figures.attempts_to_first_correct), codes,
            ])
    return out.getvalue()
