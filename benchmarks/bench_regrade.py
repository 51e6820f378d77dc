"""Regrading a class of 500 students with 10 submissions each: the dry run and the apply.

A SQLite database is built by the migrations in a temporary folder; five items of
several kinds, two typed answers each per student (one right, one wrong in a way the
diagnosis names), stored with verdicts of an older grader version so that every one
is replaced. Every wrong answer is also compared with the 500 variants of its item
(other_instance). Then 200 function answers of another assignment, through the sandbox pool. Prints
the seconds of the dry run (grading all 5,000 again) and of the
apply (history rows and new verdicts written in one transaction).
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import sqlalchemy as sa

import exercises
from grader.service import db, regrade, variants
from grader.service.models import (
    Assignment,
    Course,
    Enrolment,
    Item,
    Submission,
    User,
    Variant,
    utcnow,
)

STUDENTS = 500
ITEMS = (
    {"kind": "softmax", "K": 5},
    {"kind": "softmax_jacobian", "K": 4},
    {"kind": "layer_jacobian", "n": 3, "K": 5},
    {"kind": "cross_entropy_logits_grad", "K": 5},
    {"kind": "cross_entropy_weight_grad", "n": 3, "K": 4},
)
ATTEMPTS_PER_ITEM = 2
#: function answers, graded through the sandbox pool: fewer, as each runs a hidden suite
FUNCTION_SUBMISSIONS = 200
STABLE = "import numpy as np\ndef softmax(z):\n    e = np.exp(z - z.max())\n    return e / e.sum()\n"
UNSTABLE = "import numpy as np\ndef softmax(z):\n    return np.exp(z) / np.exp(z).sum()\n"


def build_class(session: sa.orm.Session) -> int:
    course = Course(code="BENCH", title="Regrade benchmark")
    session.add(course)
    assignment = Assignment(course=course, title="Homework", seed=42)
    assignment.items = [Item(position=i, **spec) for i, spec in enumerate(ITEMS)]
    session.add(assignment)
    users = [User(name=f"student{i:03d}", role="student") for i in range(STUDENTS)]
    session.add_all(users)
    session.flush()
    session.add_all(Enrolment(course_id=course.id, user_id=u.id, role="student") for u in users)
    now = utcnow()
    rows, stored_variants = [], []
    for user in users:
        for item in assignment.items:
            instance = variants.draw(item, variants.variant_seed(42, user.id, item.id, 0))
            stored_variants.append({"item_id": item.id, "user_id": user.id, "instance": instance})
            exercise = exercises.get(item.kind)
            right = np.asarray(exercise.reference(exercise.validate(instance)))
            for attempt, answer in enumerate((right.T if right.ndim == 2 else -right, right)):
                verdict = {"correct": False, "score": 0.0, "feedback": [], "kind": item.kind,
                           "catalog_version": exercises.CATALOG_VERSION, "grader_version": "0.0.1"}
                rows.append({
                    "item_id": item.id, "user_id": user.id, "instance": instance,
                    "answer": np.array2string(answer, precision=6), "format": "text",
                    "submitted_at": now.replace(microsecond=attempt), "late": False,
                    "verdict": verdict, "score": 0.0, "correct": False, "codes": [],
                    "graded_at": now,
                })
    session.execute(sa.insert(Variant), stored_variants)
    session.execute(sa.insert(Submission), rows)
    session.commit()
    return assignment.id


def build_functions(session: sa.orm.Session) -> int:
    """A second assignment answered by Python functions, half of them unstable."""
    course = session.scalar(sa.select(Course).where(Course.code == "BENCH"))
    assignment = Assignment(course=course, title="Functions", seed=43)
    assignment.items = [Item(position=0, kind="softmax", K=5)]
    session.add(assignment)
    session.flush()
    users = session.scalars(sa.select(User).order_by(User.id).limit(FUNCTION_SUBMISSIONS)).all()
    item = assignment.items[0]
    verdict = {"correct": False, "score": 0.0, "feedback": [], "kind": "softmax",
               "catalog_version": exercises.CATALOG_VERSION, "grader_version": "0.0.1"}
    session.execute(sa.insert(Submission), [
        {"item_id": item.id, "user_id": user.id,
         "instance": variants.draw(item, variants.variant_seed(43, user.id, item.id, 0)),
         "answer": STABLE if i % 2 else UNSTABLE, "format": "python", "submitted_at": utcnow(),
         "late": False, "verdict": verdict, "score": 0.0, "correct": False, "codes": [],
         "graded_at": utcnow()}
        for i, user in enumerate(users)
    ])
    session.commit()
    return assignment.id


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{folder}/bench.sqlite"
        db.upgrade_database(url)
        database = db.Database(url)
        with database.sessionmaker() as session:
            assignment_id = build_class(session)
        with database.sessionmaker() as session:
            started = time.perf_counter()
            plan = regrade.plan(session, session.get(Assignment, assignment_id))
            dry = time.perf_counter() - started
            started = time.perf_counter()
            replaced = regrade.apply(session, plan, by="benchmark")
            applied = time.perf_counter() - started
        with database.sessionmaker() as session:
            functions_id = build_functions(session)
        with database.sessionmaker() as session:
            started = time.perf_counter()
            functions = regrade.plan(session, session.get(Assignment, functions_id))
            function_seconds = time.perf_counter() - started
        database.dispose()
    total = len(plan.regraded)
    print(f"{STUDENTS} students x {total // STUDENTS} submissions = {total} regraded")
    print(f"dry run  {dry:6.2f} s  ({total / dry:,.0f} verdicts/s), "
          f"{len(plan.changed)} changed, {len(plan.up)} students up, {len(plan.down)} down")
    print(f"apply    {applied:6.2f} s  ({replaced} verdicts replaced, old ones kept)")
    print(f"total    {dry + applied:6.2f} s")
    rate = len(functions.regraded) / function_seconds
    print(f"function answers (sandbox pool): {len(functions.regraded)} regraded in "
          f"{function_seconds:.2f} s ({rate:,.1f}/s; {len(functions.failed)} not regraded), "
          f"so 5000 would take about {5000 / rate:.0f} s")


if __name__ == "__main__":
    main()
