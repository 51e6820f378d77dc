"""Accounts: users, roles, hashed passwords and API tokens."""

from __future__ import annotations

import hashlib
import re
import secrets
import threading
import time

import sqlalchemy as sa
import sqlalchemy.orm as so
from werkzeug.security import check_password_hash, generate_password_hash

from grader.service.models import ROLES, ApiToken, User

NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}")
MIN_PASSWORD_LENGTH = 8
TOKEN_BYTES = 32
TOKEN_CACHE_SECONDS = 30.0
TOKEN_CACHE_SIZE = 10_000
# built once: it runs for every token not seen lately
USER_FOR_TOKEN = (
    sa.select(*User.__table__.columns)
    .join(ApiToken.__table__)
    .where(ApiToken.__table__.c.token_hash == sa.bindparam("token_hash"))
)
# checked against when the name is unknown, so both paths take as long
_DUMMY_HASH = generate_password_hash("not a password of anyone")


def check_name(name: str) -> str:
    """A user name as stored; a clear ``ValueError`` when it cannot be one."""
    if not isinstance(name, str) or not NAME_PATTERN.fullmatch(name):
        raise ValueError(
            f"user name {name!r} is not allowed: 1 to 64 letters, digits or _ . @ -, "
            "starting with a letter or digit"
        )
    return name


def check_role(role: str) -> str:
    if role not in ROLES:
        raise ValueError(f"role {role!r} is not a role: use {' or '.join(ROLES)}")
    return role


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValueError(f"the password is too short: at least {MIN_PASSWORD_LENGTH} characters")
    return generate_password_hash(password)  # scrypt, salted


def create_user(
    session: so.Session,
    name: str,
    role: str,
    password: str | None = None,
    full_name: str = "",
) -> User:
    """A new user (not committed); ``ValueError`` for a taken name, a bad role or password."""
    check_name(name)
    check_role(role)
    taken = session.scalar(sa.select(User.id).where(User.name == name))
    if taken is not None:
        raise ValueError(f"the user name {name!r} is taken")
    user = User(
        name=name,
        role=role,
        full_name=full_name,
        password_hash=hash_password(password) if password is not None else None,
    )
    session.add(user)
    session.flush()
    return user


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(session: so.Session, user: User) -> str:
    """A new bearer token for ``user``; only its digest is stored."""
    token = secrets.token_urlsafe(TOKEN_BYTES)
    session.add(ApiToken(user_id=user.id, token_hash=token_digest(token)))
    session.flush()
    return token


class TokenCache:
    """Users of recently seen tokens, so that most API calls skip the token lookup.

    Per process, for ``seconds``: there is no way to revoke a token or change a role
    yet, and a change would be seen within that time.
    """

    def __init__(self, seconds: float = TOKEN_CACHE_SECONDS, size: int = TOKEN_CACHE_SIZE) -> None:
        self.seconds = seconds
        self.size = size
        self._entries: dict[str, tuple[float, User]] = {}
        self._lock = threading.Lock()

    def cached(self, token: str) -> User | None:
        """The user of a token seen lately, or None.

        A detached snapshot of its columns, the same object for every caller: read it,
        never change it or add it to a session (merge it for a copy that can be).
        """
        with self._lock:
            entry = self._entries.get(token_digest(token))
        if entry is not None and time.monotonic() - entry[0] < self.seconds:
            return entry[1]
        return None

    def load(self, connection: sa.Connection, token: str) -> User | None:
        """The user of a token, looked up and remembered: a snapshot, as :meth:`cached` gives."""
        digest = token_digest(token)
        row = connection.execute(USER_FOR_TOKEN, {"token_hash": digest}).mappings().first()
        if row is None:
            return None
        snapshot = User(**row)
        so.make_transient_to_detached(snapshot)
        with self._lock:
            if len(self._entries) >= self.size:
                self._entries.clear()
            self._entries[digest] = (time.monotonic(), snapshot)
        return snapshot

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


def authenticate(session: so.Session, name: str, password: str) -> User | None:
    """The user with this name and password, or None."""
    user = session.scalar(sa.select(User).where(User.name == name))
    if user is None or user.password_hash is None:
        check_password_hash(_DUMMY_HASH, password)
        return None
    return user if check_password_hash(user.password_hash, password) else None


def create_user_with_token(name: str, role: str, password: str | None) -> str:
    """``grader user add``: create the user in the configured database, return a new token."""
    from grader.service import db, settings

    url = settings.database_url()
    db.upgrade_database(url)
    engine = db.make_engine(url, poolclass=sa.NullPool)
    try:
        with so.Session(engine) as session, session.begin():
            user = create_user(session, name, role, password)
            return issue_token(session, user)
    finally:
        engine.dispose()
