"""``grader lti ...``: what an administrator does from the shell, on the configured database."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import sqlalchemy as sa
import sqlalchemy.orm as so

from grader.service import db, settings
from grader.service.lti import ags, keys, nrps, platforms
from grader.service.lti.models import LtiContext, LtiPlatform
from grader.service.models import Course

T = TypeVar("T")


@contextmanager
def _sessionmaker() -> Iterator[so.sessionmaker[so.Session]]:
    url = settings.database_url()
    db.upgrade_database(url)
    engine = db.make_engine(url, poolclass=sa.NullPool)
    try:
        yield so.sessionmaker(engine, expire_on_commit=False)
    finally:
        engine.dispose()


def _in_transaction(work: Callable[[so.Session], T]) -> T:
    with _sessionmaker() as maker, maker.begin() as session:
        return work(session)


def add_platform(**fields: Any) -> str:
    """Register a platform (``ValueError`` with a message for anything unusable)."""
    registration = platforms.PlatformIn(**fields)
    row = _in_transaction(lambda session: platforms.register(session, registration))
    return f"platform {row.id} registered: {row.issuer} (client id {row.client_id})"


def rotate_key() -> str:
    row = _in_transaction(keys.rotate)
    return f"new signing key {row.kid}; older keys stay published until retired (grader lti retire-key KID)"


def retire_key(kid: str) -> str:
    _in_transaction(lambda session: keys.retire(session, kid))
    return f"key {kid} is retired: no longer published or used"


def list_keys() -> str:
    rows = _in_transaction(keys.unretired)
    if not rows:
        return "no keys yet: the first is made when one is needed (or: grader lti rotate-key)"
    lines = [f"{row.kid}  created {row.created_at:%Y-%m-%d %H:%M} UTC" for row in rows]
    lines[0] += "  (signs)"
    return "\n".join(lines)


def link_course(platform_id: int, context_id: str, course_code: str) -> str:
    def work(session: so.Session) -> str:
        platform = session.get(LtiPlatform, platform_id)
        if platform is None:
            raise ValueError(f"no platform has the id {platform_id}")
        course = session.scalar(sa.select(Course).where(Course.code == course_code))
        if course is None:
            raise ValueError(f"no course has the code {course_code!r}")
        platforms.link_context(session, platform, context_id, course)
        return f"the LMS course {context_id} of {platform.name} opens {course.code}"

    return _in_transaction(work)


def push_scores() -> str:
    with _sessionmaker() as maker:
        report = ags.deliver_due(maker)
    return f"{report.sent} sent, {report.retrying} to try again later, {report.failed} failed for good"


def sync_roster(context_row_id: int) -> str:
    with _sessionmaker() as maker:
        try:
            result = nrps.sync_roster(maker, context_row_id)
        except (LookupError, nrps.RosterUnavailable) as error:
            raise ValueError(str(error)) from None
    return f"{result.students} students and {result.instructors} instructors enrolled"


def list_contexts() -> str:
    rows = _in_transaction(
        lambda session: list(session.scalars(sa.select(LtiContext).order_by(LtiContext.id)))
    )
    return "\n".join(f"{c.id}  platform {c.platform_id}  LMS course {c.context_id}" for c in rows) or "none"
