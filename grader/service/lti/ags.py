"""Assignment and Grade Services: a student's assignment score sent to the LMS's line item.

A verdict stored on a linked assignment marks the (link, student) grade sync ``waiting``
in the verdict's own transaction (:func:`score_changed`), so no score is ever lost. The
sender (:func:`deliver_due`, run by :class:`PushRunner` or ``grader lti push``) reads the
score by the assignment's policy when it sends it, retries with a growing delay while the
LMS is away, and after :data:`MAX_ATTEMPTS` marks the sync ``failed`` for an instructor to
see and send again. A sender claims the syncs it sends (:func:`claim_due`), so the senders of
several processes send each score once. No session is held open while the LMS is called.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import requests
import sqlalchemy as sa
import sqlalchemy.orm as so
from sqlalchemy.dialects import postgresql as pg

from grader.service import gradebook
from grader.service.lti import keys
from grader.service.lti.models import LtiGradeSync, LtiIdentity, LtiPlatform, LtiResourceLink
from grader.service.lti.services import SCORE_SCOPE, PlatformClient, PlatformInfo, ServiceError
from grader.service.models import Assignment, GradingJob, Item, Submission, utcnow

log = logging.getLogger(__name__)

SCORE_TYPE = "application/vnd.ims.lis.v1.score+json"
MAX_ATTEMPTS = 12
FIRST_RETRY_SECONDS = 30.0
MAX_RETRY_SECONDS = 3600.0
BATCH = 50
SWEEP_SECONDS_DEFAULT = 10.0
WAKE_DELAY_SECONDS = 0.5
CLAIM_SECONDS = 120.0  # a claimed sync is left to its sender this long (the LMS's timeouts are shorter)
#: a worker's verdict that sets a sync waiting notifies here, and web processes wake their sender
SCORES_CHANNEL = "grader_scores"
MAX_ERROR_CHARS = 1000

SYNCS = LtiGradeSync.__table__
_links, _idents = LtiResourceLink.__table__, LtiIdentity.__table__
_subs, _items = Submission.__table__, Item.__table__


def affected(submission_id: sa.ColumnElement[int]) -> sa.Select[tuple[int, int]]:
    """The (link, student) pairs a submission's verdict concerns: its assignment's links
    that have a line item, on platforms that know the student."""
    return (
        sa.select(_links.c.id.label("link_id"), _subs.c.user_id)
        .select_from(
            _subs.join(_items, _items.c.id == _subs.c.item_id)
            .join(_links, sa.and_(_links.c.assignment_id == _items.c.assignment_id,
                                  _links.c.lineitem_url.is_not(None)))
            .join(_idents, sa.and_(_idents.c.platform_id == _links.c.platform_id,
                                   _idents.c.user_id == _subs.c.user_id))
        )
        .where(_subs.c.id == submission_id)
    )


AFFECTED = affected(sa.bindparam("submission_id"))


def _fresh(now: Any) -> dict[str, Any]:
    """A sync's columns when a new verdict makes it wait to be sent."""
    return {"state": "waiting", "attempts": 0, "requested_at": now, "next_attempt_at": now,
            "last_error": None}


def waiting_upsert(submission_id: sa.ColumnElement[int], now: sa.ColumnElement[datetime]) -> pg.Insert:
    """:func:`score_changed` as one PostgreSQL statement, to be a CTE of the statement that
    stores the verdict (a worker's): the syncs it sets waiting, inserted or updated."""
    fresh = _fresh(now)
    pairs = affected(submission_id).add_columns(*(
        sa.cast(value if isinstance(value, sa.ColumnElement) else sa.literal(value), SYNCS.c[name].type)
        for name, value in fresh.items()
    ))
    insert = pg.insert(SYNCS).from_select(["link_id", "user_id", *fresh], pairs)
    return insert.on_conflict_do_update(
        index_elements=[SYNCS.c.link_id, SYNCS.c.user_id], set_=fresh
    ).returning(SYNCS.c.id)


#: set when a score waits, so that a sleeping runner sends it at once
wake = threading.Event()


def score_changed(connection: sa.Connection, submission_id: int) -> None:
    """Mark the grade syncs a new verdict on ``submission_id`` concerns as waiting.

    Called in the transaction that stores the verdict; it never makes that transaction
    fail (a savepoint holds its own writes).
    """
    try:
        pairs = connection.execute(AFFECTED, {"submission_id": submission_id}).all()
        if not pairs:
            return
        fresh = _fresh(utcnow())
        with connection.begin_nested():
            for link_id, user_id in pairs:
                _mark_waiting(connection, link_id, user_id, fresh)
    except sa.exc.SQLAlchemyError:
        log.exception("could not queue the LMS score of submission %s", submission_id)
        return
    wake.set()


def _mark_waiting(connection: sa.Connection, link_id: int, user_id: int, fresh: dict[str, Any]) -> None:
    updated = connection.execute(
        sa.update(SYNCS).where(SYNCS.c.link_id == link_id, SYNCS.c.user_id == user_id).values(fresh)
    )
    if updated.rowcount == 0:
        connection.execute(sa.insert(SYNCS).values(link_id=link_id, user_id=user_id, **fresh))


def request_all(session: so.Session, link: LtiResourceLink, *, unqueued_only: bool = False) -> int:
    """Queue every student's score on a link (a link just given its line item); how many.

    With ``unqueued_only``, only the scores of students who have none queued or sent on
    the link: the second look, once the line item is committed, for the verdicts stored
    while it was being stored. Those could not see it, nor could the first look see them.
    """
    fresh = _fresh(utcnow())
    earned = (
        sa.select(Submission.user_id)
        .distinct()
        .join(Item, Item.id == Submission.item_id)
        .join(LtiIdentity, sa.and_(LtiIdentity.user_id == Submission.user_id,
                                   LtiIdentity.platform_id == link.platform_id))
        .where(Item.assignment_id == link.assignment_id, Submission.score.is_not(None))
    )
    if unqueued_only:
        earned = earned.where(~sa.exists().where(SYNCS.c.link_id == link.id,
                                                 SYNCS.c.user_id == Submission.user_id))
    users = session.scalars(earned).all()
    connection = session.connection()
    for user_id in users:
        _mark_waiting(connection, link.id, user_id, fresh)
    return len(users)


def queue_scores(session: so.Session, user_id: int, assignment_ids: set[int]) -> int:
    """Queue the student's score on each link of these assignments that has a line item, on
    the platforms that know the student (answers joined into their account: see
    :mod:`grader.service.lti.merging`); how many. The caller commits."""
    if not assignment_ids:
        return 0
    link_ids = session.scalars(
        sa.select(_links.c.id)
        .join(_idents, sa.and_(_idents.c.platform_id == _links.c.platform_id, _idents.c.user_id == user_id))
        .where(_links.c.assignment_id.in_(sorted(assignment_ids)), _links.c.lineitem_url.is_not(None))
        .order_by(_links.c.id)
    ).all()
    fresh = _fresh(utcnow())
    connection = session.connection()
    for link_id in link_ids:
        _mark_waiting(connection, link_id, user_id, fresh)
    if link_ids:
        wake.set()
    return len(link_ids)


@dataclass(frozen=True)
class Score:
    """One student's standing on an assignment, as AGS sends it."""

    given: float
    maximum: float
    activity: str
    grading: str

    def body(self, user_sub: str, timestamp: datetime) -> dict[str, Any]:
        return {
            "userId": user_sub,
            "scoreGiven": self.given,
            "scoreMaximum": self.maximum,
            "activityProgress": self.activity,
            "gradingProgress": self.grading,
            "timestamp": timestamp.isoformat(timespec="milliseconds"),
        }


def assignment_score(session: so.Session, assignment: Assignment, user_id: int) -> Score:
    """The student's points on the assignment by its policy (best or latest), as the gradebook counts."""
    table = gradebook.cells(session, [assignment], [user_id])
    cells = [table[user_id, item.id] for item in assignment.items]
    attempted = sum(1 for cell in cells if cell.attempts)
    # an answer that could not be read is graded (without a score): only gradings still to
    # come are pending, and one failed for good waits for its instructor's regrade
    ungraded = set(session.scalars(
        sa.select(GradingJob.state).distinct()
        .join(Submission, Submission.id == GradingJob.submission_id)
        .join(Item, Item.id == Submission.item_id)
        .where(Item.assignment_id == assignment.id, Submission.user_id == user_id,
               GradingJob.state != "done")
    ))
    activity = "Initialized" if not attempted else "Completed" if attempted == len(cells) else "InProgress"
    grading = ("Pending" if ungraded - {"failed"} else "PendingManual" if ungraded else "FullyGraded")
    return Score(
        given=round(sum(cell.points for cell in cells), 4),
        maximum=assignment.points,
        activity=activity,
        grading=grading,
    )


def scores_url(lineitem_url: str) -> str:
    """The line item's scores endpoint (its URL may carry a query)."""
    path, question, query = lineitem_url.partition("?")
    return f"{path.rstrip('/')}/scores{question}{query}"


def retry_delay(attempts: int) -> timedelta:
    return timedelta(seconds=min(MAX_RETRY_SECONDS, FIRST_RETRY_SECONDS * 2 ** max(0, attempts - 1)))


@dataclass(frozen=True)
class _Send:
    sync_id: int
    requested_at: datetime
    attempts: int
    url: str
    body: dict[str, Any]
    platform: PlatformInfo


@dataclass
class DeliveryReport:
    sent: int = 0
    retrying: int = 0
    failed: int = 0


_DUE = sa.and_(SYNCS.c.state == "waiting", SYNCS.c.next_attempt_at <= sa.bindparam("now"))
ANY_DUE = sa.select(SYNCS.c.id).where(_DUE).limit(1)


def claim_due(session: so.Session, now: datetime) -> list[int]:
    """Take up to :data:`BATCH` due syncs for this sender (the caller commits): they are not
    due again for :data:`CLAIM_SECONDS`, so the senders of other processes, woken by the
    same verdicts, leave them alone; a sender that dies mid-send is stood in for then."""
    due = (
        sa.select(SYNCS.c.id).where(_DUE)
        .order_by(SYNCS.c.next_attempt_at, SYNCS.c.id).limit(BATCH)
        .with_for_update(skip_locked=True)  # PostgreSQL: another sender's claim is passed over
    )
    claimed = session.execute(
        # _DUE again: where another sender claimed a row first, its claim is seen and kept
        sa.update(SYNCS).where(SYNCS.c.id.in_(due.scalar_subquery()), _DUE)
        .values(next_attempt_at=now + timedelta(seconds=CLAIM_SECONDS))
        .returning(SYNCS.c.id),
        {"now": now},
    )
    return sorted(claimed.scalars())


def due_sends(session: so.Session, sync_ids: list[int], now: datetime) -> list[_Send]:
    """What to send for the claimed syncs: each student's score as it stands now."""
    rows = session.execute(
        sa.select(LtiGradeSync, LtiResourceLink, LtiPlatform, LtiIdentity.sub)
        .join(LtiResourceLink, LtiResourceLink.id == LtiGradeSync.link_id)
        .join(LtiPlatform, LtiPlatform.id == LtiResourceLink.platform_id)
        .join(LtiIdentity, sa.and_(LtiIdentity.platform_id == LtiPlatform.id,
                                   LtiIdentity.user_id == LtiGradeSync.user_id))
        .where(LtiGradeSync.id.in_(sync_ids))
        .order_by(LtiGradeSync.id)
    ).all()
    sends = []
    for sync, link, platform, sub in rows:
        if link.assignment is None or link.lineitem_url is None:
            continue
        score = assignment_score(session, link.assignment, sync.user_id)
        sends.append(
            _Send(sync.id, sync.requested_at, sync.attempts, scores_url(link.lineitem_url),
                  score.body(sub, now), PlatformInfo.of(platform))
        )
    return sends


def deliver_due(
    sessionmaker: so.sessionmaker[so.Session],
    now: datetime | None = None,
    http: requests.Session | None = None,
) -> DeliveryReport:
    """Send every waiting score that is due; what became of them."""
    now = now or utcnow()
    report = DeliveryReport()
    with sessionmaker() as session:
        if session.execute(ANY_DUE, {"now": now}).first() is None:
            return report  # the usual pass: no write lock, and no key read (a burst of CPU)
    with sessionmaker.begin() as session:
        claimed = claim_due(session, now)
    if not claimed:
        return report
    with sessionmaker() as session:
        sends = due_sends(session, claimed, now)
    with sessionmaker.begin() as session:
        key = keys.signing_key(session)  # made here on first use, in a write transaction
    clients: dict[int, PlatformClient] = {}
    for send in sends:
        client = clients.setdefault(send.platform.id, PlatformClient(send.platform, key, http))
        try:
            client.request("POST", send.url, SCORE_SCOPE, content_type=SCORE_TYPE, json=send.body)
        except ServiceError as error:
            failed = record_failure(sessionmaker, send, str(error), now)
            report.failed += failed
            report.retrying += not failed
            continue
        record_success(sessionmaker, send, now)
        report.sent += 1
    return report


def record_success(sessionmaker: so.sessionmaker[so.Session], send: _Send, now: datetime) -> None:
    with sessionmaker.begin() as session:
        # done only if no newer verdict came while it was on its way; else it goes again
        session.execute(
            sa.update(SYNCS)
            .where(SYNCS.c.id == send.sync_id, SYNCS.c.requested_at == send.requested_at)
            .values(state="done", sent_at=now, attempts=send.attempts + 1, last_error=None,
                    score_given=send.body["scoreGiven"], score_maximum=send.body["scoreMaximum"])
        )


def record_failure(
    sessionmaker: so.sessionmaker[so.Session], send: _Send, error: str, now: datetime
) -> bool:
    """Count the failed try; whether the sync has now failed for good."""
    attempts = send.attempts + 1
    gave_up = attempts >= MAX_ATTEMPTS
    log.warning("sending a score to %s failed (try %d): %s", send.url, attempts, error)
    with sessionmaker.begin() as session:
        session.execute(
            sa.update(SYNCS)
            .where(SYNCS.c.id == send.sync_id, SYNCS.c.requested_at == send.requested_at)
            .values(state="failed" if gave_up else "waiting", attempts=attempts,
                    next_attempt_at=now + retry_delay(attempts), last_error=error[:MAX_ERROR_CHARS])
        )
    return gave_up


def send_again(session: so.Session, sync: LtiGradeSync) -> None:
    """Queue a sync again now, whatever its state (the caller commits)."""
    sync.state, sync.attempts, sync.last_error = "waiting", 0, None
    sync.requested_at = sync.next_attempt_at = utcnow()
    wake.set()


def syncs_of_courses(session: so.Session, course_ids: list[int]) -> list[LtiGradeSync]:
    """The grade syncs of the courses' linked assignments: failed first, then waiting, then sent."""
    order = sa.case({"failed": 0, "waiting": 1}, value=LtiGradeSync.state, else_=2)
    return list(
        session.scalars(
            sa.select(LtiGradeSync)
            .join(LtiResourceLink, LtiResourceLink.id == LtiGradeSync.link_id)
            .join(Assignment, Assignment.id == LtiResourceLink.assignment_id)
            .where(Assignment.course_id.in_(course_ids))
            .options(so.selectinload(LtiGradeSync.user),
                     so.selectinload(LtiGradeSync.link).selectinload(LtiResourceLink.assignment))
            .order_by(order, LtiGradeSync.requested_at.desc())
        )
    )


class PushRunner(threading.Thread):
    """Sends waiting scores: at once when one is queued, else every ``sweep_seconds``."""

    def __init__(self, sessionmaker: so.sessionmaker[so.Session],
                 sweep_seconds: float = SWEEP_SECONDS_DEFAULT) -> None:
        super().__init__(name="lti-score-sender", daemon=True)
        self.sessionmaker = sessionmaker
        self.sweep_seconds = sweep_seconds
        self.stopping = threading.Event()

    def run(self) -> None:
        while not self.stopping.is_set():
            wake.clear()
            try:
                deliver_due(self.sessionmaker)
            except Exception:  # the database may be briefly away: try again next sweep
                log.exception("sending LMS scores failed")
            if wake.wait(self.sweep_seconds):
                # woken from inside the verdict's transaction: let it commit first
                self.stopping.wait(WAKE_DELAY_SECONDS)

    def stop(self, timeout: float | None = None) -> None:
        self.stopping.set()
        wake.set()
        self.join(timeout)
