"""Registering platforms (LMSs) and connecting their courses to ours."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so
from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field, field_validator

from grader.service.lti.models import LtiContext, LtiPlatform
from grader.service.models import Course, Enrolment, User

MAX_DEPLOYMENTS = 50


class PlatformIn(BaseModel):
    """A platform as an instructor or an administrator registers it."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field("", max_length=200)
    issuer: str = Field(min_length=1, max_length=255, description="the platform's iss, exactly")
    client_id: str = Field(min_length=1, max_length=255, description="the id the platform gave this tool")
    deployment_ids: list[str] = Field(min_length=1, max_length=MAX_DEPLOYMENTS)
    auth_login_url: AnyHttpUrl
    auth_token_url: AnyHttpUrl
    key_set_url: AnyHttpUrl
    token_audience: str | None = Field(None, max_length=1000)

    @field_validator("*", mode="after")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        texts = value if isinstance(value, list) else [value]
        if any(isinstance(text, str) and "\x00" in text for text in texts):
            raise ValueError("must not contain NUL characters")
        return value

    @field_validator("deployment_ids")
    @classmethod
    def _deployments(cls, values: list[str]) -> list[str]:
        cleaned = [value.strip() for value in values if value.strip()]
        if not cleaned:
            raise ValueError("give at least one deployment id")
        if any(len(value) > 255 for value in cleaned):
            raise ValueError("a deployment id is at most 255 characters")
        return list(dict.fromkeys(cleaned))


class AmbiguousIssuer(LookupError):
    """Several registrations share an issuer and the request names no client id."""


class PlatformTaken(ValueError):
    """A platform with that issuer and client id is registered already."""


def register(session: so.Session, platform: PlatformIn, by: User | None = None) -> LtiPlatform:
    """Add a platform (the caller commits); :class:`PlatformTaken` if it is there already."""
    taken = session.scalar(
        sa.select(LtiPlatform.id).where(
            LtiPlatform.issuer == platform.issuer, LtiPlatform.client_id == platform.client_id
        )
    )
    if taken is not None:
        raise PlatformTaken(
            f"the platform {platform.issuer!r} with client id {platform.client_id!r} is registered already"
        )
    row = LtiPlatform(
        name=platform.name or platform.issuer,
        issuer=platform.issuer,
        client_id=platform.client_id,
        deployment_ids=platform.deployment_ids,
        auth_login_url=str(platform.auth_login_url),
        auth_token_url=str(platform.auth_token_url),
        key_set_url=str(platform.key_set_url),
        token_audience=platform.token_audience or None,
        registered_by=by.id if by is not None else None,
    )
    session.add(row)
    session.flush()
    return row


def find(session: so.Session, issuer: str, client_id: str | None) -> LtiPlatform | None:
    """The platform of ``issuer`` (and ``client_id``, which is needed when it has several)."""
    query = sa.select(LtiPlatform).where(LtiPlatform.issuer == issuer)
    if client_id:
        query = query.where(LtiPlatform.client_id == client_id)
    found = list(session.scalars(query.limit(2)))
    if len(found) > 1:
        raise AmbiguousIssuer(
            f"several platforms are registered with issuer {issuer!r}: the login must name its client_id"
        )
    return found[0] if found else None


def every_platform(session: so.Session) -> list[LtiPlatform]:
    """Every platform: each instructor sees them all, to connect their courses to one."""
    return list(session.scalars(sa.select(LtiPlatform).order_by(LtiPlatform.id)))


def instructs(session: so.Session, user_id: int, course_id: int) -> bool:
    return (
        session.scalar(
            sa.select(Enrolment.id).where(
                Enrolment.course_id == course_id,
                Enrolment.user_id == user_id,
                Enrolment.role == "instructor",
            )
        )
        is not None
    )


def link_context(session: so.Session, platform: LtiPlatform, context_id: str, course: Course) -> LtiContext:
    """Connect the platform's course ``context_id`` to ``course`` (the caller commits).

    ``ValueError`` if it is connected to another course already: its students have
    their enrolments and scores there.
    """
    row = session.scalar(
        sa.select(LtiContext).where(
            LtiContext.platform_id == platform.id, LtiContext.context_id == context_id
        )
    )
    if row is None:
        row = LtiContext(platform_id=platform.id, context_id=context_id, course_id=course.id)
        session.add(row)
        session.flush()
    elif row.course_id != course.id:
        raise ValueError(f"that LMS course is connected to another course already (id {row.course_id})")
    return row
