"""What the instructor tools store: students' extensions, and the verdicts a regrade replaced.

The tables are built by the migration ``0005_instructor_tools``, like every other.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so

from grader.service.models import Base, utcnow


class Extension(Base):
    """One student's own due date and extra attempts, for an assignment or one of its items.

    An item's extension wins over its assignment's for that item; ``due_at`` None keeps
    the date the other one (or the assignment) gives.
    """

    __tablename__ = "extensions"
    __table_args__ = (sa.UniqueConstraint("assignment_id", "item_id", "user_id"),)

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    assignment_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("assignments.id", ondelete="CASCADE"), index=True
    )
    #: None: the whole assignment
    item_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("items.id", ondelete="CASCADE"))
    user_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    due_at: so.Mapped[datetime | None]
    extra_attempts: so.Mapped[int] = so.mapped_column(default=0)
    created_at: so.Mapped[datetime] = so.mapped_column(default=utcnow)


class PastVerdict(Base):
    """A submission's verdict as it stood before a regrade replaced it."""

    __tablename__ = "past_verdicts"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    submission_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("submissions.id", ondelete="CASCADE"), index=True
    )
    verdict: so.Mapped[dict[str, Any] | None]
    score: so.Mapped[float | None]
    correct: so.Mapped[bool | None]
    codes: so.Mapped[list[Any] | None]
    graded_at: so.Mapped[datetime | None]
    catalog_version: so.Mapped[str | None] = so.mapped_column(sa.String(32))
    grader_version: so.Mapped[str | None] = so.mapped_column(sa.String(32))
    replaced_at: so.Mapped[datetime] = so.mapped_column(default=utcnow)
    #: why it was replaced, for the history: "regrade by NAME: catalog 1 -> 2"
    reason: so.Mapped[str] = so.mapped_column(sa.Text, default="")
