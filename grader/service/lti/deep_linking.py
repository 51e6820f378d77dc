"""Deep linking: the content item an instructor picks, sent back as a JWT this tool signs."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so

from grader.service.lti import keys
from grader.service.lti.launch import CLAIM, DEEP_LINKING_CLAIM
from grader.service.lti.models import LtiPlatform
from grader.service.lti.provision import CUSTOM_ASSIGNMENT, CUSTOM_PRACTICE
from grader.service.models import Assignment

RESPONSE_TYPE = "LtiDeepLinkingResponse"


@dataclass(frozen=True)
class DeepLinkRequest:
    """What a deep linking launch asked for, kept (in the session) until the instructor picks."""

    platform_id: int
    deployment_id: str
    course_id: int
    return_url: str
    data: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "platform_id": self.platform_id,
            "deployment_id": self.deployment_id,
            "course_id": self.course_id,
            "return_url": self.return_url,
            "data": self.data,
        }


def assignment_item(assignment: Assignment, launch_url: str) -> dict[str, Any]:
    """An assignment as an LtiResourceLink content item with a line item of its maximum score."""
    return {
        "type": "ltiResourceLink",
        "title": assignment.title,
        "url": launch_url,
        "custom": {CUSTOM_ASSIGNMENT: str(assignment.id)},
        "lineItem": {
            "scoreMaximum": assignment.points,
            "label": assignment.title,
            "resourceId": f"assignment-{assignment.id}",
        },
    }


def practice_item(launch_url: str) -> dict[str, Any]:
    """Practice: a fresh set for each student who opens it; ungraded, so no line item."""
    return {
        "type": "ltiResourceLink",
        "title": "Practice: the softmax layer",
        "url": launch_url,
        "custom": {CUSTOM_PRACTICE: "1"},
    }


def course_assignments(session: so.Session, course_id: int) -> list[Assignment]:
    return list(
        session.scalars(
            sa.select(Assignment).where(Assignment.course_id == course_id).order_by(Assignment.id)
        )
    )


def response_token(
    session: so.Session, request: DeepLinkRequest, items: list[dict[str, Any]]
) -> str:
    """The signed LtiDeepLinkingResponse carrying ``items`` (the caller commits: a first key)."""
    platform = session.get(LtiPlatform, request.platform_id)
    if platform is None:
        raise LookupError("the platform of this deep linking request is no longer registered")
    claims: dict[str, Any] = {
        "iss": platform.client_id,
        "aud": platform.issuer,
        "azp": platform.client_id,
        "nonce": secrets.token_urlsafe(16),
        CLAIM + "deployment_id": request.deployment_id,
        CLAIM + "message_type": RESPONSE_TYPE,
        CLAIM + "version": "1.3.0",
        DEEP_LINKING_CLAIM + "content_items": items,
    }
    if request.data is not None:
        claims[DEEP_LINKING_CLAIM + "data"] = request.data
    return keys.sign(session, claims)
