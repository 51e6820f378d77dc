"""API tokens: issued with a name and a lifetime, listed, revoked; looked up on every request.

Only a token's SHA-256 is stored. There is no cache: each request finds its token
in the database, so a revocation (the row deleted) or an expiry holds at once in
every process of the server.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
import sqlalchemy.orm as so

from grader.service.models import ApiToken, User, utcnow

TOKEN_BYTES = 32
DEFAULT_DAYS = 90
MAX_DAYS = 366
MAX_NAME = 100
# built once: it runs for every request with a bearer token
_tokens = ApiToken.__table__.c
USER_FOR_TOKEN = (
    sa.select(*User.__table__.columns)
    .join(ApiToken.__table__)
    .where(
        _tokens.token_hash == sa.bindparam("token_hash"),
        sa.or_(_tokens.expires_at.is_(None), _tokens.expires_at > sa.bindparam("now")),
    )
)


@dataclass(frozen=True)
class Issued:
    """A new token: its text, shown once, and its stored row."""

    token: str
    row: ApiToken


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue(session: so.Session, user: User, name: str = "", days: int = DEFAULT_DAYS) -> Issued:
    """A new bearer token for ``user`` that expires after ``days``; ``ValueError`` if unusable."""
    if not 1 <= days <= MAX_DAYS:
        raise ValueError(f"a token lives 1 to {MAX_DAYS} days, not {days}")
    if len(name) > MAX_NAME:
        raise ValueError(f"a token's name is at most {MAX_NAME} characters")
    token = secrets.token_urlsafe(TOKEN_BYTES)
    now = utcnow()
    row = ApiToken(
        user_id=user.id,
        token_hash=digest(token),
        name=name,
        created_at=now,
        expires_at=now + timedelta(days=days),
    )
    session.add(row)
    session.flush()
    return Issued(token, row)


def user_for(connection: sa.Connection, token: str, now: datetime | None = None) -> User | None:
    """The user of a token that is neither revoked nor expired, or None.

    A detached snapshot of the user's columns for this request: read it, never add it
    to a session (merge it for a copy that can be).
    """
    params = {"token_hash": digest(token), "now": now or utcnow()}
    row = connection.execute(USER_FOR_TOKEN, params).mappings().first()
    if row is None:
        return None
    snapshot = User(**row)
    so.make_transient_to_detached(snapshot)
    return snapshot


def owned(session: so.Session, user_id: int) -> list[ApiToken]:
    """The user's tokens, newest first, expired ones included (they say so)."""
    return list(
        session.scalars(
            sa.select(ApiToken).where(ApiToken.user_id == user_id).order_by(ApiToken.id.desc())
        )
    )


def revoke(session: so.Session, user_id: int, token_id: int) -> bool:
    """Revoke one of the user's tokens; False when they have none with that id."""
    result = session.execute(
        sa.delete(ApiToken).where(ApiToken.id == token_id, ApiToken.user_id == user_id)
    )
    return result.rowcount > 0  # type: ignore[attr-defined]


def revoke_all(session: so.Session, user_id: int, name: str | None = None) -> int:
    """Revoke the user's tokens (those named ``name`` only, when given); how many there were."""
    statement = sa.delete(ApiToken).where(ApiToken.user_id == user_id)
    if name is not None:
        statement = statement.where(ApiToken.name == name)
    return session.execute(statement).rowcount  # type: ignore[attr-defined]


def _configured_session() -> so.Session:
    from grader.service import db, settings

    url = settings.database_url()
    db.upgrade_database(url)
    return so.Session(db.make_engine(url, poolclass=sa.NullPool), expire_on_commit=False)


def _user_named(session: so.Session, user_name: str) -> User:
    user = session.scalar(sa.select(User).where(User.name == user_name))
    if user is None:
        raise ValueError(f"there is no user named {user_name!r}")
    return user


def list_named(user_name: str) -> list[ApiToken]:
    """``grader token list``: the user's tokens in the configured database."""
    with _configured_session() as session:
        try:
            return owned(session, _user_named(session, user_name).id)
        finally:
            session.get_bind().dispose()  # type: ignore[union-attr]


def revoke_named(user_name: str, name: str | None = None, token_id: int | None = None) -> int:
    """``grader token revoke``: the user's tokens (by name or id when given) revoked; how many."""
    with _configured_session() as session:
        try:
            user = _user_named(session, user_name)
            if token_id is not None:
                count = int(revoke(session, user.id, token_id))
            else:
                count = revoke_all(session, user.id, name)
            session.commit()
            return count
        finally:
            session.get_bind().dispose()  # type: ignore[union-attr]
