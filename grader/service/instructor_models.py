"""What the instructor tools store: students' extensions, the verdicts a regrade replaced, and
the re-draws of students' instances.

The tables are built by the migrations (``0006_instructor_tools``, ``0011_redraws``), like
every other.
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


class Redraw(Base):
    """An instructor's re-draw of one student's instance of one item (of a derivation: one row
    per part, since the parts move together), and what became of the attempts the student had
    used on the earlier question.

    The attempts given back are added to the student's limit on the item (see
    :func:`grader.service.extensions.allowance`); the submissions themselves are never touched,
    so the gradebook, the history, the statistics and a regrade read what happened.
    """

    __tablename__ = "redraws"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    item_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("items.id", ondelete="CASCADE"), index=True)
    user_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    #: the draw the student was given
    draw_number: so.Mapped[int]
    #: the attempts that counted against the student's limit on the earlier question, as the
    #: instructor was shown them (an answer then being graded counted as one)
    attempts_used: so.Mapped[int]
    #: those the instructor gave back (0: kept), as counted then: the limit reads the attempts
    #: up to :attr:`last_submission_id` as they count now, once every verdict is in
    attempts_given_back: so.Mapped[int]
    gave_back: so.Mapped[bool]
    #: the newest of the student's submissions to the item at the re-draw (0: none yet)
    last_submission_id: so.Mapped[int] = so.mapped_column(default=0, server_default="0")
    #: the instructor (None once their account is gone)
    by_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    created_at: so.Mapped[datetime] = so.mapped_column(default=utcnow)
