"""This tool's signing keys: the newest unretired key signs, every unretired key is published.

Rotation adds a new key and keeps the old ones published, so that a platform holding a
token signed a moment ago, or a cached copy of the key set, still verifies it; an old
key is dropped from the key set only when it is retired.
"""

from __future__ import annotations

import secrets
import time
import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so
from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey

from grader.service.lti.models import LtiKey
from grader.service.models import utcnow

KEY_BITS = 2048
ALGORITHM = "RS256"
#: how long a message this tool signs (deep linking response, client assertion) is good for
SIGNED_LIFETIME_SECONDS = 300


def _new_key() -> RSAKey:
    # a kid that says when the key was made, and never starts with "-" (a shell option)
    kid = f"grader-{utcnow():%Y%m%d}-{secrets.token_hex(6)}"
    return RSAKey.generate_key(KEY_BITS, parameters={"use": "sig", "alg": ALGORITHM, "kid": kid})


def unretired(session: so.Session) -> list[LtiKey]:
    """The published keys, newest first."""
    return list(
        session.scalars(
            sa.select(LtiKey).where(LtiKey.retired_at.is_(None)).order_by(LtiKey.id.desc())
        )
    )


def rotate(session: so.Session) -> LtiKey:
    """Add a new signing key (the old ones stay published until retired); the caller commits."""
    key = _new_key()
    row = LtiKey(kid=key.kid, private_jwk=key.as_dict(private=True))
    session.add(row)
    session.flush()
    return row


def retire(session: so.Session, kid: str, now: datetime | None = None) -> LtiKey:
    """Stop publishing (and signing with) key ``kid``; ``LookupError`` if there is no such key,
    ``ValueError`` if it is the only one left."""
    row = session.scalar(sa.select(LtiKey).where(LtiKey.kid == kid))
    if row is None or row.retired_at is not None:
        raise LookupError(f"no published key has the id {kid!r}")
    if len(unretired(session)) == 1:
        raise ValueError("that is the only key: rotate first, then retire the old one")
    row.retired_at = now or utcnow()
    return row


def signing_key(session: so.Session) -> RSAKey:
    """The newest unretired key, made on first use."""
    rows = unretired(session)
    row = rows[0] if rows else rotate(session)
    return RSAKey.import_key(row.private_jwk)


def public_key_set(session: so.Session) -> dict[str, Any]:
    """What ``/.well-known/jwks.json`` publishes: the public halves of the unretired keys."""
    keys = [RSAKey.import_key(row.private_jwk) for row in unretired(session)]
    return KeySet(keys).as_dict(private=False) if keys else {"keys": []}  # type: ignore[arg-type]


def sign(session: so.Session, claims: dict[str, Any], lifetime: int = SIGNED_LIFETIME_SECONDS) -> str:
    """``claims`` signed with the current key, with ``iat``, ``exp`` and a fresh ``jti``."""
    return sign_with(signing_key(session), claims, lifetime)


def sign_with(key: RSAKey, claims: dict[str, Any], lifetime: int = SIGNED_LIFETIME_SECONDS) -> str:
    """``claims`` signed with ``key`` (read beforehand: no database needed)."""
    now = int(time.time())
    payload = {"iat": now, "exp": now + lifetime, "jti": uuid.uuid4().hex, **claims}
    return jwt.encode({"alg": ALGORITHM, "kid": key.kid, "typ": "JWT"}, payload, key)
