"""What a student sees of an assignment or an item with their own extension: their date and limit."""

from __future__ import annotations

import sqlalchemy.orm as so

from grader.service import extensions
from grader.service.models import Assignment
from grader.web.api.schemas import AssignmentOut, ItemOut


def own_item(out: ItemOut, allowed: extensions.Allowance) -> ItemOut:
    """The item with the student's own attempt limit (an extension's extra and the attempts
    re-draws gave back included), and the attempts it leaves them."""
    if not allowed.extended and not allowed.given_back:
        return out
    left = None
    if out.attempts_used is not None:
        left = allowed.attempts_left(out.attempts_used)
    return out.model_copy(update={"max_attempts": allowed.max_attempts, "attempts_left": left})


def own_assignment(
    session: so.Session, out: AssignmentOut, assignment: Assignment, user_id: int
) -> AssignmentOut:
    """The assignment with the student's own due date, where an extension of all of it gives one."""
    whole = extensions.find(session, assignment.id, user_id, None)
    if whole is None or whole.due_at is None:
        return out
    return out.model_copy(update={"due_at": whole.due_at})
