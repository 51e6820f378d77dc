"""What instructors read: the gradebook (JSON and Canvas CSV), item statistics, timelines."""

from __future__ import annotations

import csv
import io
from collections import Counter
from dataclasses import dataclass, field

import sqlalchemy as sa
import sqlalchemy.orm as so

from grader.service.models import Assignment, Course, Enrolment, Item, Submission, User

#: Canvas's gradebook import reads these columns, then one per assignment by its exact title
CSV_COLUMNS = ("Student", "SIS Login ID", "Section")
#: the second row, as Canvas writes it in its own exports (leading spaces included)
POINTS_POSSIBLE = "    Points Possible"
DISTRIBUTION_BINS = 10
#: a cell starting with one of these is a formula to a spreadsheet
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


@dataclass
class Cell:
    """One student's standing on one item."""

    item_id: int
    best_score: float | None = None
    score: float | None = None
    points: float = 0.0
    attempts: int = 0
    late: bool = False


@dataclass
class Row:
    user: User
    section: str
    cells: dict[int, Cell] = field(default_factory=dict)
    assignment_points: dict[int, float] = field(default_factory=dict)

    @property
    def total(self) -> float:
        return round(sum(self.assignment_points.values()), 4)


@dataclass
class Gradebook:
    course: Course
    assignments: list[Assignment]
    rows: list[Row]


def members(course_id: int) -> sa.Select[tuple[int]]:
    """The ids of a course's members, in any role: those whose answers count somewhere. An
    account a join closed is enrolled nowhere, so the answers set apart on it count for nothing."""
    return sa.select(Enrolment.user_id).where(Enrolment.course_id == course_id)


def students(session: so.Session, course_id: int) -> list[tuple[User, str]]:
    """The course's students and their sections, by name."""
    rows = session.execute(
        sa.select(User, Enrolment.section)
        .join(Enrolment, Enrolment.user_id == User.id)
        .where(Enrolment.course_id == course_id, Enrolment.role == "student")
        .order_by(User.name)
    )
    return list(rows)


def cells(
    session: so.Session, assignments: list[Assignment], user_ids: list[int]
) -> dict[tuple[int, int], Cell]:
    """Each (user, item)'s standing on the assignments' items, by each assignment's policy."""
    items = {item.id: (item, assignment) for assignment in assignments for item in assignment.items}
    table = {(user_id, item_id): Cell(item_id) for user_id in user_ids for item_id in items}
    history = session.execute(
        sa.select(Submission.item_id, Submission.user_id, Submission.score, Submission.late,
                  Submission.graded_at)
        .where(Submission.item_id.in_(items), Submission.user_id.in_(user_ids))
        .order_by(Submission.submitted_at, Submission.id)
    )
    for item_id, user_id, score, late, graded_at in history:
        if graded_at is not None and score is None:  # an answer that could not be read
            continue
        cell = table[user_id, item_id]
        cell.attempts += 1
        if score is None:  # not graded yet: an attempt, not a score
            continue
        _, assignment = items[item_id]
        if assignment.score_policy == "latest" or cell.best_score is None or score > cell.best_score:
            cell.score, cell.late = score, late
        cell.best_score = score if cell.best_score is None else max(cell.best_score, score)
    for (_, item_id), cell in table.items():
        cell.points = round((cell.score or 0.0) * items[item_id][0].points, 4)
    return table


def build(session: so.Session, course: Course) -> Gradebook:
    assignments = list(course.assignments)
    rows = [Row(user=user, section=section) for user, section in students(session, course.id)]
    table = cells(session, assignments, [row.user.id for row in rows])
    for row in rows:
        for assignment in assignments:
            earned = 0.0
            for item in assignment.items:
                cell = row.cells[item.id] = table[row.user.id, item.id]
                earned += cell.points
            row.assignment_points[assignment.id] = round(earned, 4)
    return Gradebook(course=course, assignments=assignments, rows=rows)


def _cell_text(value: str) -> str:
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def _number(value: float) -> str:
    return f"{value:.4f}".rstrip("0").rstrip(".")


def to_csv(gradebook: Gradebook) -> str:
    """Canvas's import form: Student, SIS Login ID, Section, one column per assignment,
    the points possible of each in the second row."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([*CSV_COLUMNS, *(_cell_text(a.title) for a in gradebook.assignments)])
    writer.writerow([POINTS_POSSIBLE, "", "", *(_number(a.points) for a in gradebook.assignments)])
    for row in gradebook.rows:
        writer.writerow(
            [
                _cell_text(row.user.display_name),
                _cell_text(row.user.name),
                _cell_text(row.section),
                *(_number(row.assignment_points[a.id]) for a in gradebook.assignments),
            ]
        )
    return out.getvalue()


@dataclass
class ItemStats:
    """An item's numbers: per attempt (as the API has always given them) and per student."""

    item: Item
    attempts: int
    graded: int
    students: int
    mean_score: float | None
    distribution: list[tuple[float, float, int]]
    codes: dict[str, int]
    enrolled: int = 0
    #: students whose first graded answer was right
    first_try_correct: int = 0
    #: students with a right answer, and the mean attempts it took them to reach the first one
    solved: int = 0
    attempts_to_correct: float | None = None
    mean_best_score: float | None = None
    #: the students' best scores in bins
    best_distribution: list[tuple[float, float, int]] = field(default_factory=list)
    #: how many students showed each code at least once, most shown first
    code_students: dict[str, int] = field(default_factory=dict)


@dataclass
class _StudentRecord:
    attempts: int = 0
    first_correct: bool | None = None
    best: float | None = None
    correct_at: int | None = None
    codes: set[str] = field(default_factory=set)


def item_stats(session: so.Session, item: Item) -> ItemStats:
    """An assignment item's attempts by the course's students (instructors trying it aside)."""
    query = (
        sa.select(Submission.user_id, Submission.score, Submission.correct, Submission.codes)
        .where(Submission.item_id == item.id)
        .order_by(Submission.submitted_at, Submission.id)
    )
    enrolled = 0
    if item.assignment is not None:
        query = query.join(
            Enrolment,
            sa.and_(
                Enrolment.user_id == Submission.user_id,
                Enrolment.course_id == item.assignment.course_id,
                Enrolment.role == "student",
            ),
        )
        enrolled = len(students(session, item.assignment.course_id))
    rows = session.execute(query).all()
    scores = [score for _, score, _, _ in rows if score is not None]
    codes: Counter[str] = Counter()
    by_student: dict[int, _StudentRecord] = {}
    for user_id, score, correct, submission_codes in rows:
        codes.update(submission_codes or [])
        record = by_student.setdefault(user_id, _StudentRecord())
        record.attempts += 1
        record.codes.update(submission_codes or [])
        if score is None:  # not graded yet
            continue
        if record.first_correct is None:
            record.first_correct = bool(correct)
        record.best = score if record.best is None else max(record.best, score)
        if correct and record.correct_at is None:
            record.correct_at = record.attempts
    records = list(by_student.values())
    bests = [r.best for r in records if r.best is not None]
    reached = [r.correct_at for r in records if r.correct_at is not None]
    shown: Counter[str] = Counter(code for r in records for code in r.codes)
    return ItemStats(
        item=item,
        attempts=len(rows),
        graded=len(scores),
        students=len(records),
        mean_score=_mean(scores),
        distribution=_bins(scores),
        codes=dict(codes.most_common()),
        enrolled=enrolled,
        first_try_correct=sum(1 for r in records if r.first_correct),
        solved=len(reached),
        attempts_to_correct=_mean([float(n) for n in reached]),
        mean_best_score=_mean(bests),
        best_distribution=_bins(bests),
        code_students=dict(shown.most_common()),
    )


def _mean(values: list[float]) -> float | None:
    return round(sum(values) / len(values), 4) if values else None


def _bins(scores: list[float]) -> list[tuple[float, float, int]]:
    bins = [0] * DISTRIBUTION_BINS
    for score in scores:
        bins[min(int(score * DISTRIBUTION_BINS), DISTRIBUTION_BINS - 1)] += 1
    return [
        (i / DISTRIBUTION_BINS, (i + 1) / DISTRIBUTION_BINS, count) for i, count in enumerate(bins)
    ]


def timeline(session: so.Session, course_id: int, user_id: int) -> list[Submission]:
    """A student's submissions to the course's assignments, oldest first."""
    return list(
        session.scalars(
            sa.select(Submission)
            .join(Item, Item.id == Submission.item_id)
            .join(Assignment, Assignment.id == Item.assignment_id)
            .where(Assignment.course_id == course_id, Submission.user_id == user_id)
            .order_by(Submission.submitted_at, Submission.id)
        )
    )
