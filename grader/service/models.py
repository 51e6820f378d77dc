"""What the service stores: accounts, courses, assignments, items, submissions, grading jobs.

Typed SQLAlchemy 2 models; the schema itself is built by the Alembic migrations in
``migrations/`` (never ``create_all``), so a test database is the production one.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

import sqlalchemy as sa
import sqlalchemy.orm as so

ROLES = ("student", "instructor")
SCORE_POLICIES = ("best", "latest")
JOB_STATES = ("queued", "running", "done", "failed")


def utcnow() -> datetime:
    return datetime.now(UTC)


class UtcDateTime(sa.TypeDecorator[datetime]):
    """An aware datetime stored in UTC; SQLite drops the zone, so it is restored on reading."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: store aware datetimes only")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(so.DeclarativeBase):
    # named constraints, so that later migrations can alter them on every database
    metadata = sa.MetaData(
        naming_convention={
            "ix": "ix_%(column_0_label)s",
            "uq": "uq_%(table_name)s_%(column_0_name)s",
            "ck": "ck_%(table_name)s_%(constraint_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }
    )
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UtcDateTime(),
        dict[str, Any]: sa.JSON(),
        list[Any]: sa.JSON(),
    }


class User(Base):
    __tablename__ = "users"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    name: so.Mapped[str] = so.mapped_column(sa.String(64), index=True, unique=True)
    full_name: so.Mapped[str] = so.mapped_column(sa.String(200), default="")
    role: so.Mapped[str] = so.mapped_column(sa.String(16))
    password_hash: so.Mapped[str | None] = so.mapped_column(sa.String(256))
    created_at: so.Mapped[datetime] = so.mapped_column(default=utcnow)
    #: a session cookie carries the version it was issued under; logout raises it
    session_version: so.Mapped[int] = so.mapped_column(default=0, server_default="0")

    tokens: so.WriteOnlyMapped[ApiToken] = so.relationship(back_populates="user")

    @property
    def is_instructor(self) -> bool:
        return self.role == "instructor"

    @property
    def display_name(self) -> str:
        return self.full_name or self.name

    def __repr__(self) -> str:
        return f"<User {self.name} ({self.role})>"


class ApiToken(Base):
    """A bearer token; only its SHA-256 is kept. Revoking one deletes its row."""

    __tablename__ = "api_tokens"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    user_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    token_hash: so.Mapped[str] = so.mapped_column(sa.String(64), unique=True)
    name: so.Mapped[str] = so.mapped_column(sa.String(100), default="", server_default="")
    created_at: so.Mapped[datetime] = so.mapped_column(default=utcnow)
    #: None: never (tokens issued before expiry existed)
    expires_at: so.Mapped[datetime | None]

    user: so.Mapped[User] = so.relationship(back_populates="tokens")


class Course(Base):
    __tablename__ = "courses"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    code: so.Mapped[str] = so.mapped_column(sa.String(32), unique=True)
    title: so.Mapped[str] = so.mapped_column(sa.String(200))
    created_at: so.Mapped[datetime] = so.mapped_column(default=utcnow)

    enrolments: so.Mapped[list[Enrolment]] = so.relationship(
        back_populates="course", cascade="all, delete-orphan"
    )
    assignments: so.Mapped[list[Assignment]] = so.relationship(
        back_populates="course", cascade="all, delete-orphan", order_by="Assignment.id"
    )


class Enrolment(Base):
    """A user in a course, as a student (with a section) or as one of its instructors."""

    __tablename__ = "enrolments"
    __table_args__ = (sa.UniqueConstraint("course_id", "user_id"),)

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    course_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("courses.id", ondelete="CASCADE"))
    user_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    role: so.Mapped[str] = so.mapped_column(sa.String(16))
    section: so.Mapped[str] = so.mapped_column(sa.String(100), default="")
    created_at: so.Mapped[datetime] = so.mapped_column(default=utcnow)

    course: so.Mapped[Course] = so.relationship(back_populates="enrolments")
    user: so.Mapped[User] = so.relationship()


class Assignment(Base):
    __tablename__ = "assignments"
    __table_args__ = (sa.UniqueConstraint("course_id", "title"),)

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    course_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("courses.id", ondelete="CASCADE"))
    title: so.Mapped[str] = so.mapped_column(sa.String(200))
    due_at: so.Mapped[datetime | None]
    #: each student's instances are drawn from this seed, the student and the item
    seed: so.Mapped[int] = so.mapped_column(sa.BigInteger)
    score_policy: so.Mapped[str] = so.mapped_column(sa.String(16), default="best")
    feedback_before_due: so.Mapped[bool] = so.mapped_column(default=True)
    created_at: so.Mapped[datetime] = so.mapped_column(default=utcnow)

    course: so.Mapped[Course] = so.relationship(back_populates="assignments")
    items: so.Mapped[list[Item]] = so.relationship(
        back_populates="assignment", cascade="all, delete-orphan", order_by="Item.position"
    )

    @property
    def points(self) -> float:
        return sum(item.points for item in self.items)


class PracticeSet(Base):
    """Fresh instances chosen for one student; graded, never in the gradebook."""

    __tablename__ = "practice_sets"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    user_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    #: each item's instances, its first and every other version the student asks for, are drawn
    #: from this seed, the item's place in the set and the version's number (the server's
    #: default only let migration 0011 add the column in place; every set is given its own)
    seed: so.Mapped[int] = so.mapped_column(sa.BigInteger, server_default="0")
    created_at: so.Mapped[datetime] = so.mapped_column(default=utcnow)

    #: every item, the parts of its derivations included (their ``derivation_id`` says so)
    items: so.Mapped[list[Item]] = so.relationship(
        back_populates="practice_set", cascade="all, delete-orphan", order_by="Item.position"
    )
    derivations: so.Mapped[list[Derivation]] = so.relationship(
        back_populates="practice_set", cascade="all, delete-orphan", order_by="Derivation.id"
    )

    @property
    def single_items(self) -> list[Item]:
        """The items asked on their own, not as parts of a derivation."""
        return [item for item in self.items if item.derivation_id is None]


ALL_ANSWER_FORMS = ("matrix", "formula", "function")
ALL_ANSWER_FORMS_JSON = '["matrix", "formula", "function"]'


class Item(Base):
    """One question of an assignment or of a practice set: a kind and its size options."""

    __tablename__ = "items"
    __table_args__ = (
        sa.CheckConstraint(
            "(assignment_id IS NULL) <> (practice_set_id IS NULL)", name="one_parent"
        ),
    )

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    assignment_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("assignments.id", ondelete="CASCADE"), index=True
    )
    practice_set_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("practice_sets.id", ondelete="CASCADE"), index=True
    )
    position: so.Mapped[int] = so.mapped_column(default=0)
    kind: so.Mapped[str] = so.mapped_column(sa.String(64))
    n: so.Mapped[int | None]
    K: so.Mapped[int | None]
    layout: so.Mapped[str] = so.mapped_column(sa.String(16), default="numerator")
    points: so.Mapped[float] = so.mapped_column(default=1.0)
    #: None: unlimited
    max_attempts: so.Mapped[int | None]
    #: the answer forms the instructor accepts: matrix, formula, function (all by default)
    answer_forms: so.Mapped[list[Any]] = so.mapped_column(
        default=lambda: list(ALL_ANSWER_FORMS), server_default=ALL_ANSWER_FORMS_JSON
    )
    #: practice items: why this one was chosen for the student
    reason: so.Mapped[str | None] = so.mapped_column(sa.Text)
    #: a part of a derivation: its instance follows from the derivation's shared one
    derivation_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("derivations.id", ondelete="CASCADE"), index=True
    )

    assignment: so.Mapped[Assignment | None] = so.relationship(back_populates="items")
    practice_set: so.Mapped[PracticeSet | None] = so.relationship(back_populates="items")
    derivation: so.Mapped[Derivation | None] = so.relationship(back_populates="parts")


class Derivation(Base):
    """Items asked as the parts (a), (b), ... of one derivation, on one shared instance per
    student (a preset of :mod:`exercises.derivations`): of an assignment, or of one student's
    practice set (then its parts are that set's items, each stored with its variant)."""

    __tablename__ = "derivations"
    __table_args__ = (
        sa.CheckConstraint(
            "(assignment_id IS NULL) <> (practice_set_id IS NULL)", name="one_parent"
        ),
    )

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    assignment_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("assignments.id", ondelete="CASCADE"), index=True
    )
    practice_set_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("practice_sets.id", ondelete="CASCADE"), index=True
    )
    preset: so.Mapped[str] = so.mapped_column(sa.String(64))
    title: so.Mapped[str] = so.mapped_column(sa.String(200))
    #: of a part's credit, for a part right for the student's own wrong earlier part
    share: so.Mapped[float] = so.mapped_column(default=0.75)
    n: so.Mapped[int | None]
    K: so.Mapped[int | None]
    #: practice: why this derivation was chosen for the student
    reason: so.Mapped[str | None] = so.mapped_column(sa.Text)
    created_at: so.Mapped[datetime] = so.mapped_column(default=utcnow)

    assignment: so.Mapped[Assignment | None] = so.relationship()
    practice_set: so.Mapped[PracticeSet | None] = so.relationship(back_populates="derivations")
    parts: so.Mapped[list[Item]] = so.relationship(back_populates="derivation", order_by="Item.position")


class Variant(Base):
    """A student's own instance of an item (re-drawn by an instructor, or for practice by the
    student asking for another version: draw_number + 1)."""

    __tablename__ = "variants"
    __table_args__ = (sa.UniqueConstraint("item_id", "user_id"),)

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    item_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("items.id", ondelete="CASCADE"))
    user_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    draw_number: so.Mapped[int] = so.mapped_column(default=0)
    instance: so.Mapped[dict[str, Any]]
    created_at: so.Mapped[datetime] = so.mapped_column(default=utcnow)

    item: so.Mapped[Item] = so.relationship()


class Submission(Base):
    """One answer, stored before it is graded; the verdict columns fill in when it is."""

    __tablename__ = "submissions"
    __table_args__ = (
        sa.Index("ix_submissions_user_submitted", "user_id", "submitted_at"),
        sa.Index("ix_submissions_item_user", "item_id", "user_id"),
    )

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    item_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("items.id", ondelete="CASCADE"))
    user_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    #: the instance it is graded against, as it was when submitted
    instance: so.Mapped[dict[str, Any]]
    answer: so.Mapped[str] = so.mapped_column(sa.Text)
    format: so.Mapped[str] = so.mapped_column(sa.String(16))
    submitted_at: so.Mapped[datetime] = so.mapped_column(default=utcnow)
    late: so.Mapped[bool] = so.mapped_column(default=False)
    verdict: so.Mapped[dict[str, Any] | None]
    score: so.Mapped[float | None]
    correct: so.Mapped[bool | None]
    codes: so.Mapped[list[Any] | None]
    graded_at: so.Mapped[datetime | None]
    grading_ms: so.Mapped[float | None]
    #: a derivation's part: the share, and the student's latest earlier parts when submitted
    earlier: so.Mapped[dict[str, Any] | None]

    item: so.Mapped[Item] = so.relationship()
    user: so.Mapped[User] = so.relationship()
    job: so.Mapped[GradingJob] = so.relationship(back_populates="submission")


class GradingJob(Base):
    """The record of truth for grading one submission: its state, tries and lease.

    queued -> running (leased to one worker until ``lease_expires_at``) -> done, or
    failed after ``attempts`` reaches the limit. A verdict is written only together with
    the move to done, by the holder of the current lease, so a submission is graded once.
    """

    __tablename__ = "grading_jobs"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    submission_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("submissions.id", ondelete="CASCADE"), unique=True
    )
    state: so.Mapped[str] = so.mapped_column(sa.String(16), index=True, default="queued")
    attempts: so.Mapped[int] = so.mapped_column(default=0)
    lease_owner: so.Mapped[str | None] = so.mapped_column(sa.String(64))
    lease_expires_at: so.Mapped[datetime | None]
    last_error: so.Mapped[str | None] = so.mapped_column(sa.Text)
    created_at: so.Mapped[datetime] = so.mapped_column(default=utcnow)
    finished_at: so.Mapped[datetime | None]

    submission: so.Mapped[Submission] = so.relationship(back_populates="job")


class RateLimitCounter(Base):
    """One rate limit's count in its current window (see grader.service.rate_limits)."""

    __tablename__ = "rate_limit_counters"

    key: so.Mapped[str] = so.mapped_column(sa.String(255), primary_key=True)
    count: so.Mapped[int]
    #: seconds since the epoch, as the limits library counts its windows
    expires_at: so.Mapped[float] = so.mapped_column(sa.Double())
