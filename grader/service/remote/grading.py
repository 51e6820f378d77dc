"""The steps of grading one submission on a worker, each safe to run twice.

A task may run again after it already ran in part: a worker killed mid-task has
its task retried elsewhere, and a retry follows a failure. So every step is keyed
by the submission: :func:`begin` skips a submission already graded, and
:func:`finish` stores a verdict only while the job is not done, in the statement
that marks it done, so one verdict is stored, once, whoever finishes first.

Each step is one statement (a worker's cost per task is mostly its round trips to
the database): :func:`begin` leases and reads in one ``UPDATE ... RETURNING``,
:func:`finish` closes the job, stores the verdict, sets the LMS's copy of the score
waiting and sends the NOTIFY in one statement of data-modifying CTEs. A worker's
engine is in autocommit: each step is its own transaction, with no BEGIN or COMMIT
to wait for.
"""

from __future__ import annotations

import logging
from datetime import datetime

import sqlalchemy as sa

from grader.judge.verdict import Verdict
from grader.service import jobs
from grader.service.lti.ags import SCORES_CHANNEL, waiting_upsert
from grader.service.models import GradingJob, Submission, utcnow

log = logging.getLogger(__name__)

#: a web process waiting for a verdict listens here; the payload is the submission's id
VERDICT_CHANNEL = "grader_verdicts"
JOBS = GradingJob.__table__
SUBMISSIONS = Submission.__table__
SUBMISSION_ID = sa.bindparam("submission_id_")

BEGIN = (
    sa.update(JOBS)
    .where(JOBS.c.submission_id == SUBMISSION_ID, JOBS.c.state != "done",
           SUBMISSIONS.c.id == JOBS.c.submission_id)
    # the grader's tries: the student's are submissions
    .values(state="running", lease_owner=sa.bindparam("owner_"),
            attempts=sa.func.coalesce(JOBS.c.attempts, 0) + 1)
    .returning(JOBS.c.id, JOBS.c.lease_owner, JOBS.c.attempts, SUBMISSIONS.c.id,
               SUBMISSIONS.c.instance, SUBMISSIONS.c.answer, SUBMISSIONS.c.format,
               SUBMISSIONS.c.item_id, SUBMISSIONS.c.user_id, SUBMISSIONS.c.earlier)
)
_CLOSED = (
    sa.update(JOBS)
    .where(JOBS.c.submission_id == SUBMISSION_ID, JOBS.c.state != "done")
    .values(state="done", finished_at=sa.bindparam("finished_at_"), lease_owner=None,
            lease_expires_at=None, last_error=None)
    .returning(JOBS.c.submission_id)
    .cte("closed")
)
_STORED = (
    sa.update(SUBMISSIONS)
    .where(SUBMISSIONS.c.id == _CLOSED.c.submission_id)
    .values({name: sa.bindparam(f"{name}_") for name in jobs.VERDICT_COLUMNS})
    .returning(SUBMISSIONS.c.id)
    .cte("stored")
)
# the LMS's copy of the score waits to be sent, in the statement that stores the verdict,
# and the web processes' senders are woken (a worker sends no score itself)
_SYNCED = waiting_upsert(_STORED.c.id, sa.bindparam("finished_at_")).cte("synced")
_SENDERS_WOKEN = sa.select(sa.func.pg_notify(SCORES_CHANNEL, "")).select_from(_SYNCED).subquery()
# The NOTIFYs are sent at commit, and only where the verdict was stored. (A data-modifying
# CTE runs whether or not it is read; SQLAlchemy writes only those read, hence the count.)
FINISH = sa.select(
    sa.func.pg_notify(VERDICT_CHANNEL, sa.cast(_STORED.c.id, sa.Text)),
    sa.select(sa.func.count()).select_from(_SENDERS_WOKEN).scalar_subquery(),
)
NOTIFY = sa.select(sa.func.pg_notify(VERDICT_CHANNEL, sa.cast(SUBMISSION_ID, sa.Text)))


def begin(engine: sa.Engine, submission_id: int, worker: str) -> jobs.Lease | None:
    """Mark the job running on ``worker``; None when there is nothing to grade."""
    with engine.begin() as connection:
        row = connection.execute(BEGIN, {"submission_id_": submission_id, "owner_": worker[:64]}).first()
    return None if row is None else jobs.Lease(*row)


def finish(engine: sa.Engine, submission_id: int, verdict: Verdict, grading_ms: float,
           now: datetime | None = None) -> bool:
    """Store the verdict and mark the job done, unless it is done already; whether it was stored."""
    columns = jobs.verdict_columns(verdict, now or utcnow(), grading_ms)
    with engine.begin() as connection:
        stored = connection.execute(FINISH, {
            "submission_id_": submission_id,
            "finished_at_": columns["graded_at"],
            **{f"{name}_": value for name, value in columns.items()},
        }).first()
    if stored is None:
        log.info("submission %s was graded already: this verdict is dropped", submission_id)
        return False
    return True


def set_aside(engine: sa.Engine, submission_id: int, error: BaseException, for_good: bool) -> None:
    """Record a try that failed: queued for the next one, or failed until an instructor regrades."""
    with engine.begin() as connection:
        connection.execute(
            sa.update(JOBS)
            .where(JOBS.c.submission_id == submission_id, JOBS.c.state != "done")
            .values(
                state="failed" if for_good else "queued",
                lease_owner=None,
                last_error=f"{type(error).__name__}: {error}"[: jobs.MAX_ERROR_CHARS],
                finished_at=utcnow() if for_good else None,
            )
        )
        if for_good:
            connection.execute(NOTIFY, {"submission_id_": submission_id})
