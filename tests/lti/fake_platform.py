"""A local LMS for the tests: a real HTTP server on 127.0.0.1 with its own RSA key.

It publishes its JWKS, answers the OIDC authorisation request with an id_token signed as
a platform signs it, issues access tokens for client-credentials grants whose JWT
assertion checks against the tool's published keys, keeps the course's AGS line items
(listed by resource link, created by the tool), and records the AGS scores and NRPS
roster requests it receives. ``down`` makes its services answer 503, ``refuse_lineitems``
its line items container refuse to create one, ``hold_lineitems`` (an event) its container
answer only once the test sets it (an LMS that is slow to answer).
(A real platform answers the authorisation request with a form that posts itself to the
tool; this one returns the form's fields as JSON, for the test to post.)
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey

CLAIM = "https://purl.imsglobal.org/spec/lti/claim/"
DEEP_LINKING_CLAIM = "https://purl.imsglobal.org/spec/lti-dl/claim/"
AGS_CLAIM = "https://purl.imsglobal.org/spec/lti-ags/claim/endpoint"
SCORE_SCOPE = "https://purl.imsglobal.org/spec/lti-ags/scope/score"
LINEITEM_SCOPE = "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem"
LINEITEM_TYPE = "application/vnd.ims.lis.v2.lineitem+json"
CONTAINER_TYPE = "application/vnd.ims.lis.v2.lineitemcontainer+json"
LINEITEMS_PATH = "/courses/42/lineitems"
NRPS_CLAIM = "https://purl.imsglobal.org/spec/lti-nrps/claim/namesroleservice"
INSTRUCTOR = "http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor"
LEARNER = "http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"
CLIENT_ID = "grader-tool-client"
DEPLOYMENT_ID = "deployment-1"
CONTEXT_ID = "lms-course-42"
HOLD_LIMIT_SECONDS = 30.0  # a held container answers then all the same, so no test hangs


def new_key() -> RSAKey:
    return RSAKey.generate_key(2048, parameters={"use": "sig", "alg": "RS256"}, auto_kid=True)


@dataclass
class Recorded:
    auth_requests: list[dict[str, str]] = field(default_factory=list)
    token_requests: list[dict[str, str]] = field(default_factory=list)
    scores: list[dict[str, Any]] = field(default_factory=list)
    score_urls: list[str] = field(default_factory=list)
    roster_requests: list[str] = field(default_factory=list)
    lineitem_queries: list[str] = field(default_factory=list)
    lineitems_created: list[dict[str, Any]] = field(default_factory=list)


class FakePlatform:
    """The platform: its key, its claims for the next launch, what it received."""

    def __init__(self) -> None:
        self.key = new_key()
        self.issuer = ""  # set once the server has its port
        self.down = False
        self.refuse_lineitems = False
        self.hold_lineitems: threading.Event | None = None
        #: the course's line items, as the container lists them (with their ``id`` URL)
        self.lineitems: list[dict[str, Any]] = []
        self.members: list[dict[str, Any]] = []
        self.recorded = Recorded()
        #: the claims of the id_token the next authorisation request returns (set by a test)
        self.next_launch: dict[str, Any] = {}
        #: the tool's published key set, to check client assertions against
        self.tool_key_set: Callable[[], dict[str, Any]] = lambda: {"keys": []}
        self._tokens: dict[str, str] = {}  # access token: its scope
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self.issuer = self.url
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    # -- what a test registers with the tool -------------------------------------
    def registration(self) -> dict[str, Any]:
        return {
            "name": "Local LMS",
            "issuer": self.issuer,
            "client_id": CLIENT_ID,
            "deployment_ids": [DEPLOYMENT_ID],
            "auth_login_url": f"{self.url}/auth",
            "auth_token_url": f"{self.url}/token",
            "key_set_url": f"{self.url}/jwks",
        }

    def lineitem(self, number: int = 1) -> str:
        return f"{self.url}{LINEITEMS_PATH}/{number}/lineitem"

    def lineitems_url(self) -> str:
        return f"{self.url}{LINEITEMS_PATH}"

    # -- tokens ------------------------------------------------------------------
    def launch_claims(
        self, sub: str, roles: list[str], *, lineitems_only: bool = False, **extra: Any
    ) -> dict[str, Any]:
        """The claims of a resource link launch (``extra`` overrides or adds); with
        ``lineitems_only`` its grade service offers the container but no line item, as for
        a link an instructor added by hand."""
        claims = {
            "sub": sub,
            "name": f"User {sub}",
            CLAIM + "message_type": "LtiResourceLinkRequest",
            CLAIM + "version": "1.3.0",
            CLAIM + "deployment_id": DEPLOYMENT_ID,
            CLAIM + "target_link_uri": "http://localhost/lti/launch",
            CLAIM + "roles": roles,
            CLAIM + "context": {"id": CONTEXT_ID, "label": "ML", "title": "Machine learning"},
            CLAIM + "resource_link": {"id": "link-1"},
            AGS_CLAIM: {
                "scope": [LINEITEM_SCOPE, SCORE_SCOPE],
                "lineitems": self.lineitems_url(),
                "lineitem": self.lineitem(),
            },
            NRPS_CLAIM: {
                "context_memberships_url": f"{self.url}/memberships",
                "service_versions": ["2.0"],
            },
        }
        if lineitems_only:
            del claims[AGS_CLAIM]["lineitem"]
        claims.update(extra)
        return claims

    def id_token(
        self, nonce: str, claims: dict[str, Any], key: RSAKey | None = None, lifetime: int = 300
    ) -> str:
        now = int(time.time())
        payload = {
            "iss": self.issuer,
            "aud": CLIENT_ID,
            "iat": now,
            "exp": now + lifetime,
            "nonce": nonce,
            **claims,
        }
        signer = key or self.key
        return jwt.encode({"alg": "RS256", "kid": self.key.kid}, payload, signer)

    def authorize(self, params: dict[str, str]) -> dict[str, str]:
        """What the authorisation endpoint answers: the fields of the form it would post."""
        self.recorded.auth_requests.append(params)
        return {"id_token": self.id_token(params["nonce"], self.next_launch), "state": params["state"]}

    # -- server ------------------------------------------------------------------
    def start(self) -> FakePlatform:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _check_assertion(self, form: dict[str, str]) -> bool:
        try:
            token = jwt.decode(form["client_assertion"], KeySet.import_key_set(self.tool_key_set()))
            registry = jwt.JWTClaimsRegistry(
                iss={"essential": True, "value": CLIENT_ID},
                sub={"essential": True, "value": CLIENT_ID},
                aud={"essential": True, "value": f"{self.url}/token"},
                exp={"essential": True},
            )
            registry.validate(token.claims)
        except Exception:
            return False
        return form.get("grant_type") == "client_credentials"

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        platform = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:  # quiet
                pass

            def _send(self, status: int, body: Any, content_type: str = "application/json") -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _authorised(self, scope: str | None = None) -> bool:
                header = self.headers.get("Authorization", "")
                if not header.startswith("Bearer ") or header[7:] not in platform._tokens:
                    return False
                return scope is None or scope in platform._tokens[header[7:]].split()

            def _lineitems_get(self, query: str) -> None:
                if platform.hold_lineitems is not None:
                    platform.hold_lineitems.wait(HOLD_LIMIT_SECONDS)
                if not self._authorised(LINEITEM_SCOPE):
                    self._send(401, {"error": "no token for the lineitem scope"})
                    return
                if self.headers.get("Accept") != CONTAINER_TYPE:
                    self._send(406, {"error": "not a line item container"})
                    return
                platform.recorded.lineitem_queries.append(query)
                wanted = parse_qs(query).get("resource_link_id", [None])[0]
                listed = [item for item in platform.lineitems
                          if wanted is None or item.get("resourceLinkId") == wanted]
                self._send(200, listed, CONTAINER_TYPE)

            def _lineitems_post(self, body: str) -> None:
                if not self._authorised(LINEITEM_SCOPE):
                    self._send(401, {"error": "no token for the lineitem scope"})
                    return
                if self.headers.get("Content-Type") != LINEITEM_TYPE:
                    self._send(415, {"error": "not a line item"})
                    return
                if platform.refuse_lineitems:
                    self._send(403, {"error": "this tool may not create line items here"})
                    return
                item = json.loads(body)
                platform.recorded.lineitems_created.append(item)
                created = {**item, "id": platform.lineitem(100 + len(platform.lineitems))}
                platform.lineitems.append(created)
                self._send(201, created, LINEITEM_TYPE)

            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                if parts.path == "/jwks":
                    self._send(200, {"keys": [platform.key.as_dict(private=False)]})
                elif parts.path == "/auth":
                    params = {k: v[0] for k, v in parse_qs(parts.query).items()}
                    self._send(200, platform.authorize(params))
                elif parts.path == LINEITEMS_PATH:
                    if platform.down:
                        self._send(503, {"error": "down"})
                    else:
                        self._lineitems_get(parts.query)
                elif parts.path == "/memberships":
                    if platform.down:
                        self._send(503, {"error": "down"})
                    elif not self._authorised():
                        self._send(401, {"error": "no token"})
                    else:
                        platform.recorded.roster_requests.append(self.headers.get("Accept", ""))
                        self._send(
                            200,
                            {"id": self.path, "members": platform.members},
                            "application/vnd.ims.lti-nrps.v2.membershipcontainer+json",
                        )
                else:
                    self._send(404, {"error": "not found"})

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length).decode()
                parts = urlsplit(self.path)
                if platform.down:
                    self._send(503, {"error": "the LMS is down for maintenance"})
                elif parts.path == "/token":
                    form = {k: v[0] for k, v in parse_qs(body).items()}
                    platform.recorded.token_requests.append(form)
                    if not platform._check_assertion(form):
                        self._send(400, {"error": "invalid_client"})
                        return
                    token = uuid.uuid4().hex
                    platform._tokens[token] = form.get("scope", "")
                    self._send(
                        200,
                        {
                            "access_token": token,
                            "token_type": "Bearer",
                            "expires_in": 3600,
                            "scope": form.get("scope", ""),
                        },
                    )
                elif parts.path == LINEITEMS_PATH:
                    self._lineitems_post(body)
                elif parts.path.endswith("/lineitem/scores"):
                    if not self._authorised():
                        self._send(401, {"error": "no token"})
                        return
                    if self.headers.get("Content-Type") != "application/vnd.ims.lis.v1.score+json":
                        self._send(415, {"error": "not a score"})
                        return
                    platform.recorded.score_urls.append(parts.path)
                    platform.recorded.scores.append(json.loads(body))
                    self._send(200, {})
                else:
                    self._send(404, {"error": "not found"})

        return Handler
