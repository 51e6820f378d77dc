"""Accounts: users, roles, hashed passwords and API tokens."""

from __future__ import annotations

import re

import sqlalchemy as sa
import sqlalchemy.orm as so
from werkzeug.security import check_password_hash, generate_password_hash

from grader.service import tokens
from grader.service.models import ROLES, User

NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}")
MIN_PASSWORD_LENGTH = 8
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


def issue_token(
    session: so.Session, user: User, name: str = "", days: int = tokens.DEFAULT_DAYS
) -> str:
    """A new bearer token for ``user`` (see :mod:`grader.service.tokens`)."""
    return tokens.issue(session, user, name, days).token


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
            return issue_token(session, user, name="command line")
    finally:
        engine.dispose()
