"""LTI 1.3 Core: OIDC login initiation and the validation of a launch's id_token.

The login initiation stores a state and a nonce; the platform then posts an id_token
with that state. The platform is the one the login began with (never what the token
claims), the token must be signed by a key of that platform's JWKS, name it as issuer
and this tool as audience, be unexpired, carry the login's nonce (accepted once) and a
deployment registered for the platform.
"""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

import requests
import sqlalchemy as sa
import sqlalchemy.orm as so
from joserfc import errors as jose_errors
from joserfc import jwt
from joserfc.jwk import KeySet

from grader.service.lti import platforms
from grader.service.lti.models import LtiLogin, LtiPlatform
from grader.service.models import utcnow

LOGIN_LIFETIME = timedelta(minutes=10)
CLOCK_LEEWAY_SECONDS = 60
JWKS_CACHE_SECONDS = 300.0
HTTP_TIMEOUT_SECONDS = 10.0
ALGORITHMS = ("RS256", "RS384", "RS512")

CLAIM = "https://purl.imsglobal.org/spec/lti/claim/"
DEEP_LINKING_CLAIM = "https://purl.imsglobal.org/spec/lti-dl/claim/"
AGS_CLAIM = "https://purl.imsglobal.org/spec/lti-ags/claim/endpoint"
NRPS_CLAIM = "https://purl.imsglobal.org/spec/lti-nrps/claim/namesroleservice"
RESOURCE_LINK_REQUEST = "LtiResourceLinkRequest"
DEEP_LINKING_REQUEST = "LtiDeepLinkingRequest"
MESSAGE_TYPES = (RESOURCE_LINK_REQUEST, DEEP_LINKING_REQUEST)
# context roles that teach: Instructor (and its sub-roles such as TeachingAssistant),
# Administrator, ContentDeveloper; the simple names are allowed by the spec too
TEACHING_ROLES = ("Instructor", "Administrator", "ContentDeveloper")


class LaunchRefused(Exception):
    """A login or launch this tool does not accept: an HTTP status and a message for a person."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class LaunchClaims:
    """What a validated launch says, read from its id_token."""

    platform_id: int
    deployment_id: str
    message_type: str
    sub: str
    name: str
    email: str
    roles: list[str]
    context_id: str | None
    context_title: str
    context_label: str
    resource_link_id: str | None
    custom: dict[str, Any] = field(default_factory=dict)
    lineitem_url: str | None = None
    lineitems_url: str | None = None
    ags_scopes: list[str] = field(default_factory=list)
    memberships_url: str | None = None
    deep_linking: dict[str, Any] | None = None

    @property
    def teaches(self) -> bool:
        return is_teaching(self.roles)


def is_teaching(roles: list[str]) -> bool:
    """Whether LTI ``roles`` make their holder an instructor in the course."""
    for role in roles:
        if not isinstance(role, str):
            continue
        if role in TEACHING_ROLES:
            return True
        vocabulary, _, name = role.partition("/membership")
        if vocabulary.startswith("http://purl.imsglobal.org/vocab/lis/v2") and name:
            # "#Instructor", or a sub-role "/Instructor#TeachingAssistant"
            principal = name.lstrip("#/").split("#", 1)[0]
            if principal in TEACHING_ROLES:
                return True
    return False


def begin_login(
    session: so.Session, params: dict[str, str], redirect_uri: str
) -> str:
    """Store a state and nonce for a third-party login; the platform's authorisation URL.

    The caller commits. ``params`` are the initiation's (``iss``, ``login_hint``,
    ``target_link_uri``, optional ``client_id``, ``lti_message_hint``, ``lti_deployment_id``).
    """
    issuer = params.get("iss", "")
    login_hint = params.get("login_hint", "")
    if not issuer or not login_hint:
        raise LaunchRefused(400, "a login initiation needs 'iss' and 'login_hint'")
    try:
        platform = platforms.find(session, issuer, params.get("client_id"))
    except platforms.AmbiguousIssuer as error:
        raise LaunchRefused(400, str(error)) from None
    if platform is None:
        raise LaunchRefused(
            400,
            f"no platform is registered with issuer {issuer!r}"
            + (f" and client id {params['client_id']!r}" if params.get("client_id") else "")
            + ": register it first (the LTI platforms page, or `grader lti add-platform`)",
        )
    deployment = params.get("lti_deployment_id")
    if deployment and deployment not in platform.deployment_ids:
        raise LaunchRefused(403, f"the deployment {deployment!r} is not registered for this platform")
    # logins never finished are of no use once their lifetime is over
    session.execute(sa.delete(LtiLogin).where(LtiLogin.created_at < utcnow() - 6 * LOGIN_LIFETIME))
    login = LtiLogin(
        platform_id=platform.id, state=secrets.token_urlsafe(32), nonce=secrets.token_urlsafe(32)
    )
    session.add(login)
    session.flush()
    query = {
        "scope": "openid",
        "response_type": "id_token",
        "response_mode": "form_post",
        "prompt": "none",
        "client_id": platform.client_id,
        "redirect_uri": redirect_uri,
        "login_hint": login_hint,
        "state": login.state,
        "nonce": login.nonce,
    }
    if params.get("lti_message_hint"):
        query["lti_message_hint"] = params["lti_message_hint"]
    separator = "&" if "?" in platform.auth_login_url else "?"
    return f"{platform.auth_login_url}{separator}{urlencode(query)}"


class KeySetCache:
    """Platforms' JWKS by URL, kept a few minutes and fetched again for a key id not in it."""

    def __init__(self, seconds: float = JWKS_CACHE_SECONDS) -> None:
        self.seconds = seconds
        self._sets: dict[str, tuple[float, KeySet]] = {}
        self._lock = threading.Lock()

    def get(self, url: str, fresh: bool = False) -> KeySet:
        with self._lock:
            cached = self._sets.get(url)
        if cached is not None and not fresh and time.monotonic() - cached[0] < self.seconds:
            return cached[1]
        try:
            response = requests.get(url, timeout=HTTP_TIMEOUT_SECONDS)
            response.raise_for_status()
            key_set = KeySet.import_key_set(response.json())
        except (requests.RequestException, ValueError, jose_errors.JoseError) as error:
            raise LaunchRefused(502, f"the platform's key set at {url} could not be read: {error}") from None
        with self._lock:
            self._sets[url] = (time.monotonic(), key_set)
        return key_set

    def clear(self) -> None:
        with self._lock:
            self._sets.clear()


key_sets = KeySetCache()


def verify_platform_token(platform: LtiPlatform, token: str) -> dict[str, Any]:
    """The claims of ``token`` once its signature checks against the platform's JWKS."""
    try:
        try:
            decoded = jwt.decode(token, key_sets.get(platform.key_set_url), algorithms=list(ALGORITHMS))
        except jose_errors.InvalidKeyIdError:  # the platform rotated its keys: fetch them again
            decoded = jwt.decode(
                token, key_sets.get(platform.key_set_url, fresh=True), algorithms=list(ALGORITHMS)
            )
    except jose_errors.BadSignatureError:
        raise LaunchRefused(401, "the id_token's signature does not match the platform's keys") from None
    except jose_errors.InvalidKeyIdError:
        raise LaunchRefused(401, "the id_token is signed with a key the platform does not publish") from None
    except (jose_errors.JoseError, ValueError) as error:
        raise LaunchRefused(400, f"the id_token could not be read: {error}") from None
    return dict(decoded.claims)


def check_claims(platform: LtiPlatform, claims: dict[str, Any], now: int | None = None) -> None:
    """Issuer, audience and authorised party, expiry; refused with a message for each."""
    registry = jwt.JWTClaimsRegistry(
        now=now,
        leeway=CLOCK_LEEWAY_SECONDS,
        iss={"essential": True, "value": platform.issuer},
        aud={"essential": True, "value": platform.client_id},
        exp={"essential": True},
        iat={"essential": True},
        sub={"essential": True},
        nonce={"essential": True},
    )
    try:
        registry.validate(claims)
    except jose_errors.ExpiredTokenError:
        raise LaunchRefused(401, "the id_token has expired: launch again from the LMS") from None
    except jose_errors.MissingClaimError as error:
        raise LaunchRefused(401, f"the id_token lacks a claim: {error.description}") from None
    except jose_errors.InvalidClaimError as error:
        which = error.claim
        if which == "iss":
            message = f"the id_token's issuer is not {platform.issuer!r}, the platform the login began with"
        elif which == "aud":
            message = f"the id_token is not meant for this tool (its audience is not {platform.client_id!r})"
        else:
            message = f"the id_token's claim {which!r} is not valid"
        raise LaunchRefused(401, message) from None
    except jose_errors.JoseError as error:
        raise LaunchRefused(401, f"the id_token is not valid: {error.description}") from None
    audience = claims["aud"]
    if isinstance(audience, list) and len(audience) > 1 and claims.get("azp") != platform.client_id:
        raise LaunchRefused(401, "the id_token names several audiences but not this tool as its 'azp'")
    if "azp" in claims and claims["azp"] != platform.client_id:
        raise LaunchRefused(401, "the id_token's authorised party ('azp') is not this tool")


def consume_login(session: so.Session, login: LtiLogin) -> None:
    """Mark the login used, if it is recent and unused (the caller commits)."""
    if login.used_at is not None:
        raise LaunchRefused(401, "this launch was used already (its nonce is accepted once): launch again")
    now = utcnow()
    if now - login.created_at > LOGIN_LIFETIME:
        raise LaunchRefused(401, "the login took too long: launch again from the LMS")
    # compare-and-set: of two posts of one launch, one wins
    used = session.execute(
        sa.update(LtiLogin)
        .where(LtiLogin.id == login.id, LtiLogin.used_at.is_(None))
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    if used.rowcount != 1:
        raise LaunchRefused(401, "this launch was used already (its nonce is accepted once): launch again")


def validate(session: so.Session, id_token: str, state: str) -> LaunchClaims:
    """The launch's claims once every rule holds, else :class:`LaunchRefused`; the caller commits."""
    if not id_token or not state:
        raise LaunchRefused(400, "a launch needs 'id_token' and 'state'")
    login = session.scalar(sa.select(LtiLogin).where(LtiLogin.state == state))
    if login is None:
        raise LaunchRefused(400, "this launch has no login initiation behind it (unknown state)")
    platform = session.get(LtiPlatform, login.platform_id)
    assert platform is not None  # the login's platform row cascades with it
    claims = verify_platform_token(platform, id_token)
    check_claims(platform, claims)
    if claims.get("nonce") != login.nonce:
        raise LaunchRefused(401, "the id_token's nonce is not the one this login sent")
    consume_login(session, login)
    return read_claims(platform, claims)


def _text(value: Any, limit: int = 255) -> str:
    return value[:limit] if isinstance(value, str) else ""


def _object(value: Any) -> dict[str, Any]:
    """A claim that should be a JSON object; anything else a platform sent reads as empty."""
    return value if isinstance(value, dict) else {}


def read_claims(platform: LtiPlatform, claims: dict[str, Any]) -> LaunchClaims:
    deployment = claims.get(CLAIM + "deployment_id")
    if not isinstance(deployment, str) or deployment not in platform.deployment_ids:
        raise LaunchRefused(403, f"the deployment {deployment!r} is not registered for this platform")
    message_type = claims.get(CLAIM + "message_type")
    if message_type not in MESSAGE_TYPES:
        raise LaunchRefused(400, f"this tool takes {' and '.join(MESSAGE_TYPES)}, not {message_type!r}")
    if claims.get(CLAIM + "version") != "1.3.0":
        raise LaunchRefused(400, "this tool speaks LTI 1.3.0 only")
    if not _text(claims.get("sub")):
        raise LaunchRefused(400, "the id_token names no user ('sub'): anonymous launches are not taken")
    roles = claims.get(CLAIM + "roles")
    if not isinstance(roles, list):
        raise LaunchRefused(400, "the id_token lacks the LTI roles claim")
    context = _object(claims.get(CLAIM + "context"))
    link = _object(claims.get(CLAIM + "resource_link"))
    ags = _object(claims.get(AGS_CLAIM))
    nrps = _object(claims.get(NRPS_CLAIM))
    custom = _object(claims.get(CLAIM + "custom"))
    scopes = ags.get("scope")
    deep_linking = claims.get(DEEP_LINKING_CLAIM + "deep_linking_settings")
    if message_type == RESOURCE_LINK_REQUEST and not _text(link.get("id")):
        raise LaunchRefused(400, "a resource link launch needs its resource_link id")
    if message_type == DEEP_LINKING_REQUEST and not (
        isinstance(deep_linking, dict) and _text(deep_linking.get("deep_link_return_url"), 2000)
    ):
        raise LaunchRefused(400, "a deep linking request needs its deep_link_return_url")
    return LaunchClaims(
        platform_id=platform.id,
        deployment_id=deployment,
        message_type=message_type,
        sub=_text(claims["sub"]),
        name=_text(claims.get("name"), 200)
        or " ".join(_text(claims.get(k), 100) for k in ("given_name", "family_name")).strip(),
        email=_text(claims.get("email")),
        roles=[role for role in roles if isinstance(role, str)],
        context_id=_text(context.get("id")) or None,
        context_title=_text(context.get("title"), 200),
        context_label=_text(context.get("label"), 100),
        resource_link_id=_text(link.get("id")) or None,
        custom=custom,
        lineitem_url=_text(ags.get("lineitem"), 1000) or None,
        lineitems_url=_text(ags.get("lineitems"), 1000) or None,
        # a list of scopes; one scope sent as a string is one scope, not its letters
        ags_scopes=[scopes] if isinstance(scopes, str) else
        [s for s in scopes if isinstance(s, str)] if isinstance(scopes, list) else [],
        memberships_url=_text(nrps.get("context_memberships_url"), 1000) or None,
        deep_linking=deep_linking if isinstance(deep_linking, dict) else None,
    )
