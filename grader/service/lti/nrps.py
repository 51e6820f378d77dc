"""Names and Role Provisioning: the LMS course's roster enrolled here before anyone launches."""

from __future__ import annotations

from dataclasses import dataclass

import requests
import sqlalchemy.orm as so

from grader.service.lti import keys
from grader.service.lti.launch import is_teaching
from grader.service.lti.models import LtiContext
from grader.service.lti.provision import enrol, user_for
from grader.service.lti.services import MEMBERSHIP_SCOPE, PlatformClient, PlatformInfo, ServiceError

MEMBERSHIP_TYPE = "application/vnd.ims.lti-nrps.v2.membershipcontainer+json"
MAX_PAGES = 100


class RosterUnavailable(Exception):
    """The platform offers no roster for this course, or did not answer."""


@dataclass(frozen=True)
class RosterSync:
    members: int
    students: int
    instructors: int


def sync_roster(
    sessionmaker: so.sessionmaker[so.Session], context_id: int, http: requests.Session | None = None
) -> RosterSync:
    """Enrol every active member of the LMS course with the role the LMS gives them."""
    with sessionmaker.begin() as session:
        context = session.get(LtiContext, context_id)
        if context is None:
            raise LookupError(f"no LMS course is connected with id {context_id}")
        if not context.memberships_url:
            raise RosterUnavailable(
                "the LMS offers no roster service for this course (no launch has named one)"
            )
        url: str | None = context.memberships_url
        platform = PlatformInfo.of(context.platform)
        platform_id, course_id = context.platform_id, context.course_id
        key = keys.signing_key(session)
    client = PlatformClient(platform, key, http)
    members: list[dict[str, object]] = []
    pages = 0
    while url and pages < MAX_PAGES:
        try:
            response = client.request("GET", url, MEMBERSHIP_SCOPE, accept=MEMBERSHIP_TYPE)
            body = response.json()
        except (ServiceError, ValueError) as error:
            raise RosterUnavailable(f"the roster could not be read: {error}") from None
        members.extend(m for m in body.get("members", []) if isinstance(m, dict))
        url = response.links.get("next", {}).get("url")
        pages += 1
    students = instructors = 0
    with sessionmaker.begin() as session:
        for member in members:
            sub = member.get("user_id")
            if not isinstance(sub, str) or member.get("status", "Active") != "Active":
                continue
            roles = [r for r in member.get("roles", []) if isinstance(r, str)]  # type: ignore[union-attr]
            teaches = is_teaching(roles)
            name = member.get("name") if isinstance(member.get("name"), str) else ""
            user = user_for(session, platform_id, sub[:255], str(name)[:200], teaches)
            enrol(session, course_id, user.id, teaches)
            instructors += teaches
            students += not teaches
    return RosterSync(students + instructors, students, instructors)
