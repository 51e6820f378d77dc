"""The steps of grading one submission on a worker, each safe to run twice.

A task may run again after it already ran in part: a worker killed mid-task has
its task retried elsewhere, and a retry follows a failure. So every step is keyed
by the submission: :func:`begin` skips a submission already graded, and
:func:`finish` stores a verdict only while the job is not done, in the transaction
that marks it done (with the LMS's copy of the score), so one verdict is stored, once,
whoever finishes first.
"""

from __future__ import annotations

import logging
from datetime import datetime

import sqlalchemy as sa
import sqlalchemy.orm as so

from grader.judge.verdict import Verdict
from grader.service import jobs, lti
from grader.service.models import GradingJob, Submission, utcnow

log = logging.getLogger(__name__)

#: a web process waiting for a verdict listens here; the payload is the submission's id
VERDICT_CHANNEL = "grader_verdicts"
JOBS = GradingJob.__table__
SUBMISSIONS = Submission.__table__
CLOSE_JOB = (
    sa.update(JOBS)
    .where(JOBS.c.submission_id == sa.bindparam("submission_id_"), JOBS.c.state != "done")
    .values(state="done", finished_at=sa.bindparam("finished_at_"), lease_owner=None,
            lease_expires_at=None, last_error=None)
)
STORE_VERDICT = sa.update(SUBMISSIONS).where(SUBMISSIONS.c.id == sa.bindparam("submission_id_"))
NOTIFY = sa.select(sa.func.pg_notify(VERDICT_CHANNEL, sa.cast(sa.bindparam("submission_id_"), sa.Text)))


def begin(session: so.Session, submission_id: int, worker: str) -> jobs.Lease | None:
    """Mark the job running on ``worker`` and commit; None when there is nothing to grade."""
    with session.begin():
        job = session.scalar(
            sa.select(GradingJob)
            .where(GradingJob.submission_id == submission_id)
            .options(so.joinedload(GradingJob.submission, innerjoin=True))
        )
        if job is None or job.state == "done":
            return None
        job.state = "running"
        job.lease_owner = worker[:64]
        job.attempts = (job.attempts or 0) + 1  # the grader's tries: the student's are submissions
        session.flush()
        return jobs.Lease.of(job)


def finish(session: so.Session, submission_id: int, verdict: Verdict, grading_ms: float,
           now: datetime | None = None) -> bool:
    """Store the verdict and mark the job done, unless it is done already; whether it was stored."""
    now = now or utcnow()
    columns = jobs.verdict_columns(verdict, now, grading_ms)
    with session.begin():
        if session.execute(CLOSE_JOB, {"submission_id_": submission_id, "finished_at_": now}).rowcount != 1:
            log.info("submission %s was graded already: this verdict is dropped", submission_id)
            return False
        session.execute(STORE_VERDICT, {"submission_id_": submission_id, **columns})
        # the LMS's copy, queued with the verdict: a web process's sender delivers it
        lti.score_changed(session.connection(), submission_id)
        session.execute(NOTIFY, {"submission_id_": submission_id})  # sent at commit
    return True


def set_aside(session: so.Session, submission_id: int, error: BaseException, for_good: bool) -> None:
    """Record a try that failed: queued for the next one, or failed until an instructor regrades."""
    with session.begin():
        session.execute(
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
            session.execute(NOTIFY, {"submission_id_": submission_id})
