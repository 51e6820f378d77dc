"""What LTI 1.3 stores: platforms, this tool's keys, launches' nonces, the links between the
LMS's users, courses and resource links and ours, and the scores waiting to be sent back.

The tables are built by the migration ``0004_lti``, like every other (``0009`` adds a
link's line item claim, ``0014`` the record of accounts joined, ``0015`` the
join requests an instructor decides).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so

from grader.service.models import Assignment, Base, Course, User, utcnow

SYNC_STATES = ("waiting", "done", "failed")


class LtiPlatform(Base):
    """An LMS registered with this tool: who it is (issuer, client id) and where it answers."""

    __tablename__ = "lti_platforms"
    __table_args__ = (sa.UniqueConstraint("issuer", "client_id"),)

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    name: so.Mapped[str] = so.mapped_column(sa.String(200), default="")
    issuer: so.Mapped[str] = so.mapped_column(sa.String(255))
    client_id: so.Mapped[str] = so.mapped_column(sa.String(255))
    deployment_ids: so.Mapped[list[Any]]
    auth_login_url: so.Mapped[str] = so.mapped_column(sa.String(1000))
    auth_token_url: so.Mapped[str] = so.mapped_column(sa.String(1000))
    key_set_url: so.Mapped[str] = so.mapped_column(sa.String(1000))
    #: the token endpoint's audience when it is not the token URL itself (Brightspace, Moodle)
    token_audience: so.Mapped[str | None] = so.mapped_column(sa.String(1000))
    registered_by: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    created_at: so.Mapped[datetime] = so.mapped_column(default=utcnow)


class LtiKey(Base):
    """One of this tool's RSA signing keys; the newest unretired one signs, all unretired are published."""

    __tablename__ = "lti_keys"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    kid: so.Mapped[str] = so.mapped_column(sa.String(64), unique=True)
    private_jwk: so.Mapped[dict[str, Any]]
    created_at: so.Mapped[datetime] = so.mapped_column(default=utcnow)
    retired_at: so.Mapped[datetime | None]


class LtiLogin(Base):
    """A login initiation: its state and nonce, used by at most one launch."""

    __tablename__ = "lti_logins"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    platform_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("lti_platforms.id", ondelete="CASCADE")
    )
    state: so.Mapped[str] = so.mapped_column(sa.String(64), unique=True)
    nonce: so.Mapped[str] = so.mapped_column(sa.String(64), unique=True)
    created_at: so.Mapped[datetime] = so.mapped_column(default=utcnow, index=True)
    used_at: so.Mapped[datetime | None]


class LtiIdentity(Base):
    """A platform's user (its ``sub``) as one of ours."""

    __tablename__ = "lti_identities"
    __table_args__ = (sa.UniqueConstraint("platform_id", "sub"),)

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    platform_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("lti_platforms.id", ondelete="CASCADE")
    )
    sub: so.Mapped[str] = so.mapped_column(sa.String(255))
    user_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)

    user: so.Mapped[User] = so.relationship()


class LtiContext(Base):
    """A platform's course (its context) as one of ours, with its roster service if offered."""

    __tablename__ = "lti_contexts"
    __table_args__ = (sa.UniqueConstraint("platform_id", "context_id"),)

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    platform_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("lti_platforms.id", ondelete="CASCADE")
    )
    context_id: so.Mapped[str] = so.mapped_column(sa.String(255))
    course_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("courses.id", ondelete="CASCADE"), index=True
    )
    memberships_url: so.Mapped[str | None] = so.mapped_column(sa.String(1000))

    platform: so.Mapped[LtiPlatform] = so.relationship()
    course: so.Mapped[Course] = so.relationship()


class LtiResourceLink(Base):
    """A link placed in the LMS, the assignment it opens and the line item its scores go to."""

    __tablename__ = "lti_resource_links"
    __table_args__ = (sa.UniqueConstraint("platform_id", "resource_link_id"),)

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    platform_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("lti_platforms.id", ondelete="CASCADE")
    )
    resource_link_id: so.Mapped[str] = so.mapped_column(sa.String(255))
    assignment_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("assignments.id", ondelete="CASCADE"), index=True
    )
    lineitem_url: so.Mapped[str | None] = so.mapped_column(sa.String(1000))
    ags_scopes: so.Mapped[list[Any]]
    #: since when a launch has been creating the link's line item (the others leave it to it)
    lineitem_claimed_at: so.Mapped[datetime | None]

    platform: so.Mapped[LtiPlatform] = so.relationship()
    assignment: so.Mapped[Assignment | None] = so.relationship()


class LtiGradeSync(Base):
    """A student's score on a resource link, to be sent to its line item: a retried job.

    One row per (link, student). A new verdict sets it ``waiting`` again and moves
    ``requested_at``; a send marks it ``done`` only if no verdict came meanwhile, so the
    platform always ends with the newest score. The score is read when it is sent.
    """

    __tablename__ = "lti_grade_syncs"
    __table_args__ = (sa.UniqueConstraint("link_id", "user_id"),)

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    link_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("lti_resource_links.id", ondelete="CASCADE")
    )
    user_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    state: so.Mapped[str] = so.mapped_column(sa.String(16), index=True, default="waiting")
    attempts: so.Mapped[int] = so.mapped_column(default=0)
    requested_at: so.Mapped[datetime] = so.mapped_column(default=utcnow)
    next_attempt_at: so.Mapped[datetime] = so.mapped_column(default=utcnow)
    sent_at: so.Mapped[datetime | None]
    score_given: so.Mapped[float | None]
    score_maximum: so.Mapped[float | None]
    last_error: so.Mapped[str | None] = so.mapped_column(sa.Text)

    link: so.Mapped[LtiResourceLink] = so.relationship()
    user: so.Mapped[User] = so.relationship()


class AccountMerge(Base):
    """An account the LMS made, joined into the account its user had here before (see
    :mod:`grader.service.lti.merging`): who, when, and what moved, for the instructors.

    The account merged away stays, closed (no password, LMS identity, enrolment or token, its
    sessions ended), so that its id is never another user's; it holds nothing but the records
    an instructor's choice set apart (see :mod:`~grader.service.lti.join_requests`).
    ``from_user_id`` is unique: an account is merged away once.
    """

    __tablename__ = "account_merges"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    from_user_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL"), unique=True
    )
    #: the merged-away account's name, as it was (kept should its row ever go)
    from_name: so.Mapped[str] = so.mapped_column(sa.String(64))
    into_user_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    merged_at: so.Mapped[datetime] = so.mapped_column(default=utcnow)
    #: the courses whose records moved: the merge shows on the student's timeline there
    course_ids: so.Mapped[list[Any]]
    #: what moved, counted, and what was left out (see merging.Moved)
    moved: so.Mapped[dict[str, Any]]

    into_user: so.Mapped[User] = so.relationship(foreign_keys=[into_user_id])


JOIN_REQUEST_STATES = ("pending", "joined", "withdrawn")


class JoinRequest(Base):
    """A join refused because both accounts answered the same assignment questions: the student
    proved both accounts theirs (the LMS launch, the older account's password), and asks an
    instructor of those questions' courses to choose, for each, whose record counts (see
    :mod:`grader.service.lti.join_requests`).

    At most one is pending per LMS account; a join, however it comes, closes it.
    """

    __tablename__ = "join_requests"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    #: the account the LMS made, to be merged away
    lms_user_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    #: the older account, whose password the student gave
    target_user_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    requested_at: so.Mapped[datetime] = so.mapped_column(default=utcnow)
    #: the questions both accounts had answered when it was asked: name, item ids, course id
    conflicts: so.Mapped[list[Any]]
    state: so.Mapped[str] = so.mapped_column(sa.String(16), index=True, default="pending")
    resolved_at: so.Mapped[datetime | None]
    #: the instructor who confirmed the join (None: the student joined, or withdrew)
    resolved_by: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    #: the instructor's choices, by question (its first item's id): "lms" or "older"
    choices: so.Mapped[dict[str, Any] | None]
    merge_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("account_merges.id", ondelete="SET NULL")
    )

    lms_user: so.Mapped[User] = so.relationship(foreign_keys=[lms_user_id])
    target_user: so.Mapped[User] = so.relationship(foreign_keys=[target_user_id])
