"""``grader regrade``: a regrade's plan for a person, and the command on the configured database."""

from __future__ import annotations

import sqlalchemy as sa
import sqlalchemy.orm as so

from exercises import CATALOG_VERSION
from grader import __version__
from grader.service.models import Assignment
from grader.service.regrade import Plan, apply, plan


def summary(plan_: Plan, applied: bool = False) -> list[str]:
    """The plan for a person: what was graded again, who moves and why."""
    lines = [
        f"assignment {plan_.assignment_id}: {len(plan_.regraded)} graded submission(s) graded again "
        f"in {plan_.seconds:.2f} s (stored: {'; '.join(sorted(plan_.stored_versions)) or 'none'}; "
        f"now: catalog {CATALOG_VERSION}, grader {__version__})",
        f"{len(plan_.changed)} verdict(s) change, {len(plan_.failed)} could not be graded again; "
        f"{len(plan_.up)} student(s) go up, {len(plan_.down)} go down",
    ]
    for student in sorted(plan_.students, key=lambda s: (s.delta, s.name)):
        lines.append(f"{student.name}: {student.old_points:g} -> {student.new_points:g} "
                     f"({student.delta:+g})")
        lines.extend(f"  - {reason}" for reason in student.reasons)
    for entry in plan_.failed:
        lines.append(f"submission {entry.submission_id} keeps its verdict: {entry.error}")
    lines.append("applied: the old verdicts are kept in the history" if applied
                 else "dry run: nothing was changed (add --apply to store it)")
    return lines


def run(assignment_id: int, *, store: bool, by: str) -> tuple[Plan, bool]:
    """``grader regrade``: plan (and apply) on the configured database."""
    from grader.service import db, settings

    url = settings.database_url()
    db.upgrade_database(url)
    engine = db.make_engine(url, poolclass=sa.NullPool)
    try:
        with so.Session(engine) as session:
            assignment = session.get(Assignment, assignment_id)
            if assignment is None:
                raise LookupError(f"there is no assignment {assignment_id}")
            plan_ = plan(session, assignment)
            if store:
                apply(session, plan_, by=by)
            return plan_, store
    finally:
        engine.dispose()
