"""Grading jobs: the record of truth that every stored submission gets graded, once.

A submission is stored together with its :class:`~grader.service.models.GradingJob`,
in one transaction, already leased to the process that accepted it (``state =
running``, an owner, an expiry). The job is graded outside any transaction, and
the verdict is written in the transaction that moves the job to ``done``, only if
the lease is still the one the grader took (a compare-and-set on state, owner and
attempt number): if two graders ever grade the same submission, one verdict is
stored and the other is dropped.

A lease that is not closed (a crash, a kill, a database error while storing the
verdict) lapses when it expires, and any process's sweep takes the job again, the
process that held it included. A server that starts, or whose worker dies, queues
again at once the jobs that the dead processes held (:func:`requeue`). Grading
again never creates a submission, so it never uses up a student's attempts.

:class:`grader.service.queue.GradingQueue` runs these steps for one process.
"""

from __future__ import annotations

import logging
import socket
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so

from exercises import InstanceError
from grader.judge.grading import grade as grade_answer
from grader.judge.verdict import Verdict
from grader.service import derivations, lti, other_instance
from grader.service.models import GradingJob, Submission, utcnow

log = logging.getLogger(__name__)

LEASE_SECONDS_DEFAULT = 120.0
MAX_ATTEMPTS_DEFAULT = 3
CLAIM_BATCH = 20
MAX_ERROR_CHARS = 2000
JOBS = GradingJob.__table__
SUBMISSIONS = Submission.__table__
# The lease a grader holds: the job still running, under its name, at the attempt it took.
_HELD = (
    JOBS.c.id == sa.bindparam("job_id_"),
    JOBS.c.state == "running",
    JOBS.c.lease_owner == sa.bindparam("owner_"),
    JOBS.c.attempts == sa.bindparam("attempt_"),
)
CLOSE_JOB = (
    sa.update(JOBS)
    .where(*_HELD)
    .values(
        state="done",
        finished_at=sa.bindparam("finished_at_"),
        lease_owner=None,
        lease_expires_at=None,
        last_error=None,
    )
)
HELD_JOB = sa.select(JOBS.c.id).where(*_HELD).with_for_update()
STORE_VERDICT = sa.update(SUBMISSIONS).where(SUBMISSIONS.c.id == sa.bindparam("submission_id_"))


def owner_prefix(pid: int) -> str:
    """The start of the lease names of process ``pid`` on this machine."""
    return f"{socket.gethostname()[:32]}:{pid}:"


@dataclass(frozen=True)
class JobPolicy:
    lease_seconds: float = LEASE_SECONDS_DEFAULT
    max_attempts: int = MAX_ATTEMPTS_DEFAULT

    @classmethod
    def from_config(cls, config: Any) -> JobPolicy:
        return cls(config["JOB_LEASE_SECONDS"], config["JOB_MAX_ATTEMPTS"])


@dataclass(frozen=True)
class Lease:
    """A job leased to one grader, and what grading its submission needs."""

    job_id: int
    owner: str
    attempt: int  # the job's attempts when the lease was taken: each lease has its own
    submission_id: int
    instance: dict[str, Any]
    answer: str
    format: str
    item_id: int
    user_id: int
    earlier: dict[str, Any] | None = None  # a derivation's part: see grader.service.derivations

    @classmethod
    def of(cls, job: GradingJob) -> Lease:
        if job.state != "running" or job.lease_owner is None:
            raise ValueError(f"job {job.id} is {job.state}, not leased")
        submission = job.submission
        return cls(
            job.id, job.lease_owner, job.attempts,
            submission.id, submission.instance, submission.answer, submission.format,
            submission.item_id, submission.user_id, submission.earlier,
        )


def lease(job: GradingJob, owner: str, policy: JobPolicy, now: datetime | None = None) -> None:
    """Lease ``job`` to ``owner`` (one more attempt); the caller commits."""
    job.state = "running"
    job.attempts = (job.attempts or 0) + 1
    job.lease_owner = owner
    job.lease_expires_at = (now or utcnow()) + timedelta(seconds=policy.lease_seconds)


class GraderUnavailable(RuntimeError):
    """The grader could not judge the answer (the sandbox is down): grade it again later."""


# Verdicts that say nothing about the answer: stored, they would cost the student an attempt.
NOT_A_JUDGEMENT = frozenset({"sandbox_unavailable"})


def grade(held: Lease) -> Verdict:
    # the hidden instances of a function answer follow from the submission: a re-grade
    # after a crash runs the same suite
    options: dict[str, Any] = {}
    if held.earlier is not None:  # a derivation's part: graded with the earlier parts it builds on
        options["earlier"], options["share"] = derivations.earlier_answers(held.earlier)
    verdict = grade_answer(held.instance, held.answer, held.format, seed=held.submission_id, **options)
    unavailable = NOT_A_JUDGEMENT.intersection(verdict.codes)
    if unavailable:
        messages = "; ".join(f.message for f in verdict.feedback if f.code in unavailable)
        raise GraderUnavailable(messages)
    return verdict


def judge(held: Lease, sessionmaker: so.sessionmaker[so.Session]) -> Verdict:
    """The verdict on a leased submission, marked where it answers another student's variant."""
    verdict = grade(held)
    if not other_instance.may_be_anothers(verdict, held.format):
        return verdict  # most answers: no session, no connection taken from the pool
    with sessionmaker() as session:
        return other_instance.mark_stored(
            session, held.item_id, held.user_id, held.answer, held.format, verdict
        )


#: a submission's columns that hold its verdict (:func:`verdict_columns` gives their values)
VERDICT_COLUMNS = ("verdict", "score", "correct", "codes", "graded_at", "grading_ms")


def verdict_columns(verdict: Verdict, graded_at: datetime, grading_ms: float) -> dict[str, Any]:
    """A submission's columns that hold its verdict; an answer that could not be read keeps
    its verdict but no score, which is how the attempt counts and the gradebook skip it."""
    values = (
        verdict.model_dump(mode="json"),
        verdict.score if verdict.is_attempt else None,
        verdict.correct,
        verdict.codes,
        graded_at,
        round(grading_ms, 3),
    )
    # one list of the columns: a worker's statement binds exactly these (remote.grading)
    return dict(zip(VERDICT_COLUMNS, values, strict=True))


def _held(held: Lease) -> dict[str, Any]:
    return {"job_id_": held.job_id, "owner_": held.owner, "attempt_": held.attempt}


def finish(
    session: so.Session, held: Lease, verdict: Verdict, grading_ms: float
) -> dict[str, Any] | None:
    """Store the verdict and close the job, if the lease still holds, and commit.

    Returns the submission's columns as stored, or None when the lease was lost.
    """
    now = utcnow()
    columns = verdict_columns(verdict, now, grading_ms)  # before the write lock, not under it
    with session.begin():
        closed = session.execute(CLOSE_JOB, {**_held(held), "finished_at_": now}).rowcount
        if closed != 1:
            log.info("job %s was taken over before it finished; its verdict is dropped", held.job_id)
            return None
        session.execute(STORE_VERDICT, {"submission_id_": held.submission_id, **columns})
        # the LMS's copy, queued with the verdict
        lti.score_changed(session.connection(), held.submission_id)
    return columns


def fail(session: so.Session, held: Lease, error: BaseException, policy: JobPolicy) -> None:
    """Record a grading that raised, if the lease still holds: queued again, or failed for good."""
    with session.begin():
        if session.scalar(HELD_JOB, _held(held)) is None:  # taken over: its new holder decides
            return
        permanent = isinstance(error, InstanceError) or held.attempt >= policy.max_attempts
        session.execute(
            sa.update(JOBS)
            .where(JOBS.c.id == held.job_id)
            .values(
                state="failed" if permanent else "queued",
                lease_owner=None,
                lease_expires_at=None,
                last_error=f"{type(error).__name__}: {error}"[:MAX_ERROR_CHARS],
                finished_at=utcnow() if permanent else None,
            )
        )


def retry(session: so.Session, job: GradingJob, owner: str, policy: JobPolicy) -> bool:
    """Lease a job that failed for good to ``owner`` afresh (the caller commits); False if
    it had not failed."""
    session.refresh(job, with_for_update=True)
    if job.state != "failed":
        return False
    job.attempts = 0
    job.finished_at = None
    lease(job, owner, policy)
    return True


def claim(
    session: so.Session,
    owner: str,
    policy: JobPolicy,
    limit: int = CLAIM_BATCH,
    now: datetime | None = None,
) -> list[Lease]:
    """Lease up to ``limit`` jobs to ``owner``, queued ones and those whose lease lapsed
    (whoever held it, ``owner`` included), and commit."""
    now = now or utcnow()
    with session.begin():
        jobs = session.scalars(
            sa.select(GradingJob)
            .where(
                sa.or_(
                    GradingJob.state == "queued",
                    sa.and_(GradingJob.state == "running", GradingJob.lease_expires_at < now),
                )
            )
            .order_by(GradingJob.id)
            .limit(limit)
            .options(so.joinedload(GradingJob.submission, innerjoin=True))
            .with_for_update(skip_locked=True, of=GradingJob)
        ).all()
        claimed = []
        for job in jobs:
            if job.attempts >= policy.max_attempts:
                job.state = "failed"
                job.lease_owner = None
                job.lease_expires_at = None
                job.finished_at = now
                job.last_error = (job.last_error or "") + f" (gave up after {job.attempts} attempts)"
                continue
            lease(job, owner, policy, now)
            claimed.append(job)
        session.flush()
        return [Lease.of(job) for job in claimed]


def requeue(session: so.Session, owner_prefix: str | None = None) -> int:
    """Queue again the running jobs of processes that are gone, and commit; how many.

    Without ``owner_prefix``, every running job: for a server that starts, all of them
    belong to a process that is gone. With it, those of one process (see
    :func:`owner_prefix`). Grading again costs no attempt of the student's.
    """
    running = GradingJob.state == "running"
    if owner_prefix is not None:
        running = sa.and_(running, GradingJob.lease_owner.startswith(owner_prefix, autoescape=True))
    with session.begin():
        requeued = session.execute(
            sa.update(GradingJob).where(running).values(state="queued", lease_owner=None,
                                                         lease_expires_at=None)
        )
        return requeued.rowcount


def counts(session: so.Session) -> dict[str, int]:
    """How many jobs are in each state."""
    rows = session.execute(sa.select(GradingJob.state, sa.func.count()).group_by(GradingJob.state))
    return {state: count for state, count in rows}
