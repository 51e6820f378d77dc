"""A line item for a link the LMS gave none: created through AGS, as a deep link's would be.

An instructor may add the tool to a course by hand (not by deep linking), naming the
assignment in the link's custom parameters; its launches then offer the course's line
items container (``lineitems``) and the ``lineitem`` scope but no line item. Any launch of
the link, a learner's as well as an instructor's, has one made: the AGS access token is
the tool's own (client credentials), not the launching user's. The tool looks for a line
item of the link (one an earlier launch created, or one whose creation was never stored)
and creates one if there is none, stores it as the link's, and queues the scores its
students earned so far.

One launch per link does it: it claims the link (:func:`claim`, one conditional UPDATE,
atomic on SQLite and PostgreSQL alike), so thirty students opening a new link at once
make one line item, not thirty; the others go on at once, without a line item yet. A
claim :data:`CLAIM_SECONDS` old is of a process that died mid-call, and is taken again.
The LMS is called with no session open; when it refuses, the claim is released, the
launch goes on, and the next launch tries again. When it failed slowly (an LMS that
hangs, or times out), the claim is kept until it is stale: the launches of the next
:data:`CLAIM_SECONDS` go on at once rather than each wait for that LMS again.

It is done in the launch, not later: the container's URL comes only with a launch (no
link stores it), and the scores' sender may be nothing more than a cron job, so a
deferred creation would wait for it. The cost is bounded: it falls on one launch per
link, once, and the LMS is given :data:`LAUNCH_BUDGET_SECONDS` in all (a token, the
container's pages, the creation; each call :data:`CALL_TIMEOUT_SECONDS` at most) before
the launch goes on without it.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import requests
import sqlalchemy as sa
import sqlalchemy.orm as so

from grader.service.lti import ags, keys
from grader.service.lti.launch import RESOURCE_LINK_REQUEST, LaunchClaims
from grader.service.lti.models import LtiResourceLink
from grader.service.lti.services import LINEITEM_SCOPE, PlatformClient, PlatformInfo, ServiceError
from grader.service.models import utcnow

log = logging.getLogger(__name__)

LINEITEM_TYPE = "application/vnd.ims.lis.v2.lineitem+json"
CONTAINER_TYPE = "application/vnd.ims.lis.v2.lineitemcontainer+json"
MAX_PAGES = 10
MAX_URL = 1000  # LtiResourceLink.lineitem_url's length
CALL_TIMEOUT_SECONDS = 5.0
LAUNCH_BUDGET_SECONDS = 10.0
#: a claim this old is of a launch that died mid-call (its calls end within the budget), or
#: of one the LMS answered slowly, to be tried again
CLAIM_SECONDS = 120.0
#: a creation that failed after this long keeps its claim (see above)
SLOW_FAILURE_SECONDS = 2.0


def resource_id(assignment_id: int) -> str:
    """The line item's ``resourceId``: the assignment it grades, stable across links."""
    return f"assignment-{assignment_id}"


def wanted(claims: LaunchClaims) -> bool:
    """Whether the launch may give its link a line item: a resource link launch (anyone's)
    whose grade service offers the container and the scope to create in it, but no line item."""
    return (
        claims.message_type == RESOURCE_LINK_REQUEST
        and claims.lineitem_url is None
        and claims.lineitems_url is not None
        and LINEITEM_SCOPE in claims.ags_scopes
    )


_LINKS = LtiResourceLink.__table__


def claim(session: so.Session, link_id: int, now: datetime) -> bool:
    """Take the creation of the link's line item for this launch (the caller commits).

    True for one launch at a time: the link has no line item, opens an assignment, and no
    other launch claimed it less than :data:`CLAIM_SECONDS` ago. On PostgreSQL a launch
    that updates the row at the same moment waits for this one's commit, then finds the
    row claimed; on SQLite writers take turns.
    """
    stale = now - timedelta(seconds=CLAIM_SECONDS)
    claimed = session.execute(
        sa.update(_LINKS)
        .where(_LINKS.c.id == link_id, _LINKS.c.lineitem_url.is_(None),
               _LINKS.c.assignment_id.is_not(None),
               sa.or_(_LINKS.c.lineitem_claimed_at.is_(None), _LINKS.c.lineitem_claimed_at < stale))
        .values(lineitem_claimed_at=now)
    )
    return claimed.rowcount == 1


def release(session: so.Session, link_id: int, claimed_at: datetime) -> None:
    """Give the claim up (the creation failed), for the next launch to try again; a claim
    another launch took meanwhile (this one's having gone stale) is left to it."""
    session.execute(
        sa.update(_LINKS)
        .where(_LINKS.c.id == link_id, _LINKS.c.lineitem_claimed_at == claimed_at)
        .values(lineitem_claimed_at=None)
    )


@dataclass(frozen=True)
class _Missing:
    """What creating a link's line item needs, read before the LMS is called."""

    platform: PlatformInfo
    resource_link_id: str
    body: dict[str, Any]


def _missing(link: LtiResourceLink) -> _Missing | None:
    if link.lineitem_url is not None or link.assignment is None:
        return None
    assignment = link.assignment
    return _Missing(
        PlatformInfo.of(link.platform),
        link.resource_link_id,
        {
            "scoreMaximum": assignment.points,
            "label": assignment.title,
            "resourceLinkId": link.resource_link_id,
            "resourceId": resource_id(assignment.id),
        },
    )


def _with_query(url: str, params: dict[str, str]) -> str:
    return f"{url}{'&' if '?' in url else '?'}{urlencode(params)}"


def find(client: PlatformClient, lineitems_url: str, resource_link_id: str) -> str | None:
    """The URL of a line item of the resource link in the container, if there is one."""
    url: str | None = _with_query(lineitems_url, {"resource_link_id": resource_link_id})
    pages = 0
    while url and pages < MAX_PAGES:
        response = client.request("GET", url, LINEITEM_SCOPE, accept=CONTAINER_TYPE)
        items = response.json()
        if not isinstance(items, list):
            raise ServiceError(f"{url} answered no list of line items")
        for item in items:
            # a platform that ignores the filter lists other links' line items too
            if (isinstance(item, dict) and item.get("resourceLinkId") == resource_link_id
                    and isinstance(item.get("id"), str) and item["id"]):
                return str(item["id"])
        url = response.links.get("next", {}).get("url")
        pages += 1
    return None


def create(client: PlatformClient, lineitems_url: str, body: dict[str, Any]) -> str:
    """The URL of a new line item the LMS created in the container."""
    response = client.request(
        "POST", lineitems_url, LINEITEM_SCOPE, accept=LINEITEM_TYPE, content_type=LINEITEM_TYPE, json=body
    )
    created = response.json()
    url = created.get("id") if isinstance(created, dict) else None
    if not isinstance(url, str) or not url:
        raise ServiceError(f"{lineitems_url} created a line item without its id")
    return url


def find_or_create(client: PlatformClient, lineitems_url: str, missing: _Missing) -> str:
    """The URL of the link's line item: the one the LMS has, else a new one."""
    url = find(client, lineitems_url, missing.resource_link_id)
    if url is None:
        url = create(client, lineitems_url, missing.body)
    if len(url) > MAX_URL:
        raise ServiceError(f"the line item's id is longer than {MAX_URL} characters")
    return url


def ensure(
    sessionmaker: so.sessionmaker[so.Session],
    link_id: int,
    claims: LaunchClaims,
    http: requests.Session | None = None,
) -> str | None:
    """The link's line item: found or created in the LMS if the link has none, the launch
    allows it and no other launch is at it, then stored with the link's earned scores
    queued. ``None`` if the link has none yet (another launch is creating it, or the LMS
    refused or is away: logged, for a later launch to try again)."""
    if not wanted(claims):
        return None
    assert claims.lineitems_url is not None
    claimed_at = utcnow()
    with sessionmaker.begin() as session:
        mine = claim(session, link_id, claimed_at)
        link = session.get(LtiResourceLink, link_id)
        if link is None:
            return None
        missing = _missing(link) if mine else None
        if missing is None:  # it has one, or another launch is creating it: go on without
            return link.lineitem_url
        key = keys.signing_key(session)  # made here on first use, in a write transaction
    client = PlatformClient(missing.platform, key, http, timeout_seconds=CALL_TIMEOUT_SECONDS,
                            budget_seconds=LAUNCH_BUDGET_SECONDS)
    url = None
    started = time.monotonic()
    try:
        url = find_or_create(client, claims.lineitems_url, missing)
    except (ServiceError, ValueError) as error:
        log.warning("the line item of resource link %s could not be created: %s",
                    missing.resource_link_id, error)
    finally:
        # failed (or raised) at once: the next launch tries again
        if url is None and time.monotonic() - started < SLOW_FAILURE_SECONDS:
            with sessionmaker.begin() as session:
                release(session, link_id, claimed_at)
    if url is None:
        return None
    queued = 0
    with sessionmaker.begin() as session:
        link = session.get(LtiResourceLink, link_id, with_for_update=True)
        if link is None:
            return None
        link.lineitem_claimed_at = None
        if link.lineitem_url is None:  # else another launch stored one meanwhile
            link.lineitem_url = url
            link.ags_scopes = claims.ags_scopes
            session.flush()
            queued = ags.request_all(session, link)  # the scores earned before it had a line item
        stored = link.lineitem_url
    if queued:
        ags.wake.set()  # committed: the sender may send them now
    if stored == url:  # stored by this launch: the verdicts stored meanwhile, too
        queue_the_rest(sessionmaker, link_id)
    return stored


def queue_the_rest(sessionmaker: so.sessionmaker[so.Session], link_id: int) -> int:
    """Queue the scores of verdicts stored while the link's line item was being stored
    (see :func:`ags.request_all`); how many. Called once that line item is committed."""
    with sessionmaker.begin() as session:
        link = session.get(LtiResourceLink, link_id)
        queued = 0 if link is None else ags.request_all(session, link, unqueued_only=True)
    if queued:
        ags.wake.set()
    return queued
