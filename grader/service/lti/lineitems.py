"""A line item for a link the LMS gave none: created through AGS, as a deep link's would be.

An instructor may add the tool to a course by hand (not by deep linking), naming the
assignment in the link's custom parameters; its launches then offer the course's line
items container (``lineitems``) and the ``lineitem`` scope but no line item. The tool
looks for a line item of the link (one an earlier launch created) and creates one if there
is none, stores it as the link's, and queues the scores its students earned so far. The
LMS is called with no session open; when it refuses or is away the launch goes on and a
later launch tries again.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import requests
import sqlalchemy.orm as so

from grader.service.lti import ags, keys
from grader.service.lti.launch import RESOURCE_LINK_REQUEST, LaunchClaims
from grader.service.lti.models import LtiResourceLink
from grader.service.lti.services import LINEITEM_SCOPE, PlatformClient, PlatformInfo, ServiceError

log = logging.getLogger(__name__)

LINEITEM_TYPE = "application/vnd.ims.lis.v2.lineitem+json"
CONTAINER_TYPE = "application/vnd.ims.lis.v2.lineitemcontainer+json"
MAX_PAGES = 10
MAX_URL = 1000  # LtiResourceLink.lineitem_url's length


def resource_id(assignment_id: int) -> str:
    """The line item's ``resourceId``: the assignment it grades, stable across links."""
    return f"assignment-{assignment_id}"


def wanted(claims: LaunchClaims) -> bool:
    """Whether the launch may give its link a line item: an instructor's resource link
    launch whose grade service offers the container and the scope to create in it."""
    return (
        claims.message_type == RESOURCE_LINK_REQUEST
        and claims.teaches
        and claims.lineitem_url is None
        and claims.lineitems_url is not None
        and LINEITEM_SCOPE in claims.ags_scopes
    )


@dataclass(frozen=True)
class _Missing:
    """What creating a link's line item needs, read before the LMS is called."""

    platform: PlatformInfo
    resource_link_id: str
    body: dict[str, Any]


def _missing(session: so.Session, link_id: int) -> _Missing | None:
    link = session.get(LtiResourceLink, link_id)
    if link is None or link.lineitem_url is not None or link.assignment is None:
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


def ensure(
    sessionmaker: so.sessionmaker[so.Session],
    link_id: int,
    claims: LaunchClaims,
    http: requests.Session | None = None,
) -> str | None:
    """The link's line item: found or created in the LMS if the link has none and the launch
    allows it, then stored with the link's earned scores queued. ``None`` if the link has
    none after all (the LMS refused or is away: logged, for a later launch to try again)."""
    if not wanted(claims):
        return None
    assert claims.lineitems_url is not None
    with sessionmaker.begin() as session:
        missing = _missing(session, link_id)
        if missing is None:
            link = session.get(LtiResourceLink, link_id)
            return link.lineitem_url if link is not None else None
        key = keys.signing_key(session)  # made here on first use, in a write transaction
    client = PlatformClient(missing.platform, key, http)
    try:
        url = find(client, claims.lineitems_url, missing.resource_link_id)
        if url is None:
            url = create(client, claims.lineitems_url, missing.body)
        if len(url) > MAX_URL:
            raise ServiceError(f"the line item's id is longer than {MAX_URL} characters")
    except (ServiceError, ValueError) as error:
        log.warning("the line item of resource link %s could not be created: %s",
                    missing.resource_link_id, error)
        return None
    queued = 0
    with sessionmaker.begin() as session:
        link = session.get(LtiResourceLink, link_id, with_for_update=True)
        if link is None:
            return None
        if link.lineitem_url is None:  # else another launch stored one meanwhile
            link.lineitem_url = url
            link.ags_scopes = claims.ags_scopes
            session.flush()
            queued = ags.request_all(session, link)  # the scores earned before it had a line item
        stored = link.lineitem_url
    if queued:
        ags.wake.set()  # committed: the sender may send them now
    return stored
