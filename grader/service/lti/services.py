"""Calling a platform's services (AGS, NRPS): an OAuth 2 access token by the client-credentials
grant, with a JWT assertion this tool signs (LTI Security Framework, 1EdTech)."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass

import requests
from joserfc.jwk import RSAKey

from grader.service.lti import keys
from grader.service.lti.models import LtiPlatform

HTTP_TIMEOUT_SECONDS = 15.0
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
SCORE_SCOPE = "https://purl.imsglobal.org/spec/lti-ags/scope/score"
LINEITEM_SCOPE = "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem"
MEMBERSHIP_SCOPE = "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly"
TOKEN_MARGIN_SECONDS = 30


class ServiceError(Exception):
    """A platform's service did not answer as it should (down, refusing, garbled)."""


@dataclass(frozen=True)
class PlatformInfo:
    """What calling a platform needs, read from its row (so no session is held while calling)."""

    id: int
    client_id: str
    auth_token_url: str
    token_audience: str | None

    @classmethod
    def of(cls, platform: LtiPlatform) -> PlatformInfo:
        return cls(platform.id, platform.client_id, platform.auth_token_url, platform.token_audience)


class PlatformClient:
    """Requests to one platform's services, with access tokens kept until they expire.

    Each call waits at most ``timeout_seconds``; with ``budget_seconds`` all the client's
    calls end within that long of its making, and a call that would begin later is not
    made (:class:`ServiceError`): what a user waits for is bounded, whatever the platform.
    """

    def __init__(
        self, platform: PlatformInfo, key: RSAKey, http: requests.Session | None = None, *,
        timeout_seconds: float = HTTP_TIMEOUT_SECONDS, budget_seconds: float | None = None,
    ) -> None:
        self.platform = platform
        self.key = key
        self.http = http or requests.Session()
        self.timeout_seconds = timeout_seconds
        self.deadline = None if budget_seconds is None else time.monotonic() + budget_seconds
        self._tokens: dict[str, tuple[float, str]] = {}

    def timeout(self) -> float:
        """The next call's timeout: the client's, shortened to end by its deadline."""
        if self.deadline is None:
            return self.timeout_seconds
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise ServiceError("the time allowed for calling the platform is spent")
        return min(self.timeout_seconds, left)

    def access_token(self, scope: str) -> str:
        cached = self._tokens.get(scope)
        if cached is not None and cached[0] > time.monotonic():
            return cached[1]
        platform = self.platform
        assertion = keys.sign_with(
            self.key,
            {
                "iss": platform.client_id,
                "sub": platform.client_id,
                "aud": platform.token_audience or platform.auth_token_url,
                "jti": uuid.uuid4().hex,
            },
        )
        try:
            response = self.http.post(
                platform.auth_token_url,
                data={
                    "grant_type": "client_credentials",
                    "client_assertion_type": ASSERTION_TYPE,
                    "client_assertion": assertion,
                    "scope": scope,
                },
                timeout=self.timeout(),
            )
        except requests.RequestException as error:
            raise ServiceError(f"the token endpoint could not be reached: {error}") from None
        if response.status_code != 200:
            raise ServiceError(f"the token endpoint answered {response.status_code}: {response.text[:300]}")
        try:
            body = response.json()
            token = body["access_token"]
            lifetime = float(body.get("expires_in", 3600))
        except (ValueError, KeyError, TypeError):
            raise ServiceError("the token endpoint's answer holds no access_token") from None
        self._tokens[scope] = (time.monotonic() + max(0.0, lifetime - TOKEN_MARGIN_SECONDS), token)
        return str(token)

    def request(
        self, method: str, url: str, scope: str, *, accept: str | None = None,
        content_type: str | None = None, json: object = None,
    ) -> requests.Response:
        headers = {"Authorization": f"Bearer {self.access_token(scope)}"}
        if accept:
            headers["Accept"] = accept
        if content_type:
            headers["Content-Type"] = content_type
        try:
            response = self.http.request(
                method, url, headers=headers, json=json, timeout=self.timeout()
            )
        except requests.RequestException as error:
            raise ServiceError(f"{url} could not be reached: {error}") from None
        if not 200 <= response.status_code < 300:
            raise ServiceError(f"{url} answered {response.status_code}: {response.text[:300]}")
        return response
