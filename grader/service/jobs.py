"""Grading jobs: the record of truth that every accepted submission gets graded, once.

A submission is stored together with its :class:`~grader.service.models.GradingJob`, in one
transaction. The job is then leased to one worker (``state = running``, an owner and
an expiry) and graded outside any transaction. The verdict is written in the same
transaction that moves the job to ``done``, and only if the worker still holds the
lease (a compare-and-set on state and owner): if two workers ever grade the same
submission, one verdict is stored and the other is dropped.

The request that accepted a submission grades it at once. A job whose worker died
(crash, kill, restart) keeps its lease until it expires. A server that starts
queues every running job again before any of its processes serves
(:func:`requeue_orphans`; a lone process's :class:`JobRunner` takes them over
itself), and each process's runner grades queued and expired jobs while it runs.
Grading again never creates a submission, so it never uses up a student's
attempts. (Two servers started apart on one database, or the WSGI entry point
under a server of several processes, may still take over a job another process
is grading: the work is done twice, the verdict stored once.)
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so

from exercises import InstanceError
from grader.judge.grading import grade as grade_answer
from grader.judge.verdict import Verdict
from grader.service import lti
from grader.service.db import Prepared, on_connection, write_transaction
from grader.service.models import GradingJob, Submission, utcnow

log = logging.getLogger(__name__)


def _worker_id() -> str:
    return f"{socket.gethostname()[:32]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


#: this process's name on the leases it takes (a forked server process takes a name of its own)
WORKER_ID = _worker_id()


def _rename_after_fork() -> None:
    global WORKER_ID
    WORKER_ID = _worker_id()


os.register_at_fork(after_in_child=_rename_after_fork)

LEASE_SECONDS_DEFAULT = 120.0
MAX_ATTEMPTS_DEFAULT = 3
SWEEP_SECONDS_DEFAULT = 10.0
CLAIM_BATCH = 20
MAX_ERROR_CHARS = 2000
# the grading path uses Core statements on the tables: no unit of work to pay for
JOBS = GradingJob.__table__
SUBMISSIONS = Submission.__table__
# built once, with bound parameters (see grader.service.submissions)
INSERT_JOB = sa.insert(JOBS).returning(JOBS.c.id)
CLOSE_JOB = (
    sa.update(JOBS)
    .where(
        JOBS.c.id == sa.bindparam("job_id_"),
        JOBS.c.state == "running",
        JOBS.c.lease_owner == sa.bindparam("owner_"),
    )
    .values(
        state="done",
        finished_at=sa.bindparam("finished_at_"),
        lease_owner=None,
        lease_expires_at=None,
        last_error=None,
    )
)
HELD_ATTEMPTS = (
    sa.select(JOBS.c.attempts)
    .where(
        JOBS.c.id == sa.bindparam("job_id_"),
        JOBS.c.state == "running",
        JOBS.c.lease_owner == sa.bindparam("owner_"),
    )
    .with_for_update()
)
STORE_VERDICT = sa.update(SUBMISSIONS).where(SUBMISSIONS.c.id == sa.bindparam("submission_id_"))
VERDICT_COLUMNS = ("verdict", "score", "correct", "codes", "graded_at", "grading_ms")
# on the driver's cursor (see grader.service.db.Prepared): these run for every submission
PREPARED_INSERT_JOB = Prepared(
    INSERT_JOB,
    ("submission_id", "state", "attempts", "lease_owner", "lease_expires_at", "created_at"),
)
PREPARED_CLOSE_JOB = Prepared(CLOSE_JOB, ("job_id_", "owner_", "finished_at_"))
PREPARED_STORE_VERDICT = Prepared(STORE_VERDICT, ("submission_id_", *VERDICT_COLUMNS))


@dataclass(frozen=True)
class JobPolicy:
    lease_seconds: float = LEASE_SECONDS_DEFAULT
    max_attempts: int = MAX_ATTEMPTS_DEFAULT

    @classmethod
    def from_config(cls, config: Any) -> JobPolicy:
        return cls(config["JOB_LEASE_SECONDS"], config["JOB_MAX_ATTEMPTS"])


@dataclass(frozen=True)
class Work:
    """What grading one submission needs, read before the transaction ends."""

    job_id: int
    submission_id: int
    instance: dict[str, Any]
    answer: str
    format: str


def enqueue(
    session: so.Session | sa.Connection,
    submission_id: int,
    owner: str | None,
    policy: JobPolicy,
    now: datetime | None = None,
) -> int:
    """The job of a submission being stored (its id); with an owner, already leased to it."""
    now = now or utcnow()
    leased = owner is not None
    return PREPARED_INSERT_JOB.scalar(
        on_connection(session),
        {
            "submission_id": submission_id,
            "state": "running" if leased else "queued",
            "attempts": 1 if leased else 0,
            "lease_owner": owner,
            "lease_expires_at": now + timedelta(seconds=policy.lease_seconds) if leased else None,
            "created_at": now,
        },
    )


def _lease(job: GradingJob, owner: str, policy: JobPolicy) -> None:
    job.state = "running"
    job.attempts += 1
    job.lease_owner = owner
    job.lease_expires_at = utcnow() + timedelta(seconds=policy.lease_seconds)


class GraderUnavailable(RuntimeError):
    """The grader could not judge the answer (the sandbox is down): grade it again later."""


# Verdicts that say nothing about the answer: stored, they would cost the student an attempt.
NOT_A_JUDGEMENT = frozenset({"sandbox_unavailable"})


def grade(work: Work) -> Verdict:
    # the hidden instances of a function answer follow from the submission: a re-grade
    # after a crash runs the same suite
    verdict = grade_answer(work.instance, work.answer, work.format, seed=work.submission_id)
    unavailable = NOT_A_JUDGEMENT.intersection(verdict.codes)
    if unavailable:
        messages = "; ".join(f.message for f in verdict.feedback if f.code in unavailable)
        raise GraderUnavailable(messages)
    return verdict


def finish(
    engine: sa.Engine, work: Work, owner: str, verdict: Verdict, grading_ms: float
) -> dict[str, Any] | None:
    """Store the verdict and close the job, if ``owner`` still holds it, in one transaction.

    Returns the submission's columns as stored, or None when the lease was lost.
    """
    now = utcnow()
    columns = verdict_columns(verdict, now, grading_ms)  # before the write lock, not under it
    with write_transaction(engine) as connection:
        closed = PREPARED_CLOSE_JOB.rowcount(
            connection, {"job_id_": work.job_id, "owner_": owner, "finished_at_": now}
        )
        if closed != 1:  # nothing written: the empty transaction just ends
            log.info("job %s was taken over before it finished; its verdict is dropped", work.job_id)
            return None
        PREPARED_STORE_VERDICT.rowcount(connection, {"submission_id_": work.submission_id, **columns})
        lti.score_changed(connection, work.submission_id)  # the LMS's copy, queued with the verdict
    return columns


def verdict_columns(verdict: Verdict, graded_at: datetime, grading_ms: float) -> dict[str, Any]:
    """A submission's columns that hold its verdict."""
    return {
        "verdict": verdict.model_dump(mode="json"),
        "score": verdict.score,
        "correct": verdict.correct,
        "codes": verdict.codes,
        "graded_at": graded_at,
        "grading_ms": round(grading_ms, 3),
    }


def fail(engine: sa.Engine, work: Work, owner: str, error: BaseException, policy: JobPolicy) -> None:
    """Record a grading that raised, if ``owner`` still holds it: queued again, or failed for good."""
    with write_transaction(engine) as connection:
        attempts = connection.scalar(HELD_ATTEMPTS, {"job_id_": work.job_id, "owner_": owner})
        if attempts is None:  # taken over meanwhile: its new holder decides
            return
        permanent = isinstance(error, InstanceError) or attempts >= policy.max_attempts
        connection.execute(
            sa.update(JOBS)
            .where(JOBS.c.id == work.job_id)
            .values(
                state="failed" if permanent else "queued",
                lease_owner=None,
                lease_expires_at=None,
                last_error=f"{type(error).__name__}: {error}"[:MAX_ERROR_CHARS],
                finished_at=utcnow() if permanent else None,
            )
        )


def retry(session: so.Session, submission_id: int, owner: str, policy: JobPolicy) -> Work | None:
    """Lease a submission's failed job to ``owner`` afresh (the caller commits), or None."""
    job = session.scalar(
        sa.select(GradingJob).where(GradingJob.submission_id == submission_id).with_for_update()
    )
    if job is None or job.state != "failed":
        return None
    job.attempts = 0
    job.finished_at = None
    _lease(job, owner, policy)
    submission = job.submission
    session.flush()
    return Work(job.id, submission.id, submission.instance, submission.answer, submission.format)


@dataclass(frozen=True)
class Outcome:
    """What became of one grading: the verdict and its columns as stored, or None."""

    columns: dict[str, Any] | None
    verdict: Verdict | None = None

    @property
    def stored(self) -> bool:
        return self.columns is not None


def run(engine: sa.Engine, work: Work, owner: str, policy: JobPolicy) -> Outcome:
    """Grade a job ``owner`` holds and record the outcome (no session: Core statements only)."""
    started = time.perf_counter()
    try:
        verdict = grade(work)
    except Exception as error:
        log.exception("grading submission %s failed", work.submission_id)
        fail(engine, work, owner, error, policy)
        return Outcome(None)
    elapsed = (time.perf_counter() - started) * 1000
    columns = finish(engine, work, owner, verdict, elapsed)
    return Outcome(columns, verdict if columns is not None else None)


def claim(
    session: so.Session,
    owner: str,
    policy: JobPolicy,
    limit: int = CLAIM_BATCH,
    take_over_running: bool = False,
) -> list[Work]:
    """Lease up to ``limit`` jobs to ``owner``: queued ones and ones whose lease expired.

    With ``take_over_running`` also the running jobs of other processes whatever their
    lease says: at startup those belong to the process that died. Commits.
    """
    now = utcnow()
    running_elsewhere = sa.and_(GradingJob.state == "running", GradingJob.lease_owner != owner)
    if not take_over_running:
        running_elsewhere = sa.and_(running_elsewhere, GradingJob.lease_expires_at < now)
    jobs = session.scalars(
        sa.select(GradingJob)
        .where(sa.or_(GradingJob.state == "queued", running_elsewhere))
        .order_by(GradingJob.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
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
        _lease(job, owner, policy)
        claimed.append(job.id)
    session.flush()
    work = [
        Work(job_id, sub.id, sub.instance, sub.answer, sub.format)
        for job_id, sub in session.execute(
            sa.select(GradingJob.id, Submission)
            .join(Submission, Submission.id == GradingJob.submission_id)
            .where(GradingJob.id.in_(claimed))
            .order_by(GradingJob.id)
        )
    ]
    session.commit()
    return work


def sweep(
    sessionmaker: so.sessionmaker[so.Session],
    owner: str | None = None,
    policy: JobPolicy | None = None,
    take_over_running: bool = False,
) -> int:
    """Claim and grade until no claimable job is left; the number of verdicts stored."""
    owner = owner or WORKER_ID
    policy = policy or JobPolicy()
    stored = 0
    while True:
        with sessionmaker() as session:
            batch = claim(session, owner, policy, take_over_running=take_over_running)
            if not batch:
                return stored
            engine = session.get_bind()
            for work in batch:
                stored += run(engine, work, owner, policy).stored


def requeue_orphans(sessionmaker: so.sessionmaker[so.Session]) -> int:
    """Queue again every running job, whatever its lease says; how many.

    For a server that starts its processes: every job still running belongs to
    a process that is gone, and the new processes grade what is queued. Grading
    again costs no attempt of the student's.
    """
    with sessionmaker.begin() as session:
        requeued = session.execute(
            sa.update(GradingJob)
            .where(GradingJob.state == "running")
            .values(state="queued", lease_owner=None, lease_expires_at=None)
        )
        return requeued.rowcount


def counts(session: so.Session) -> dict[str, int]:
    """How many jobs are in each state."""
    rows = session.execute(sa.select(GradingJob.state, sa.func.count()).group_by(GradingJob.state))
    return {state: count for state, count in rows}


class JobRunner(threading.Thread):
    """Grades what earlier processes left unfinished, then expired and queued jobs."""

    def __init__(
        self,
        sessionmaker: so.sessionmaker[so.Session],
        policy: JobPolicy,
        sweep_seconds: float = SWEEP_SECONDS_DEFAULT,
        owner: str | None = None,
        take_over_at_start: bool = True,
    ) -> None:
        super().__init__(name="grading-job-runner", daemon=True)
        self.sessionmaker = sessionmaker
        self.policy = policy
        self.sweep_seconds = sweep_seconds
        self.owner = owner or WORKER_ID
        self.take_over_at_start = take_over_at_start
        self.stopping = threading.Event()
        self.recovered = threading.Event()

    def run(self) -> None:
        # at startup of a lone process, every running job belongs to a process that is gone;
        # beside other processes, only expired leases are (see requeue_orphans)
        take_over = self.take_over_at_start
        while not self.stopping.is_set():
            try:
                graded = sweep(self.sessionmaker, self.owner, self.policy, take_over)
                if take_over and graded:
                    log.warning("graded %d submission(s) left unfinished by a restart", graded)
                take_over = False
                self.recovered.set()
            except Exception:  # the database may be briefly away: try again next sweep
                log.exception("grading job sweep failed")
            self.stopping.wait(self.sweep_seconds)

    def stop(self, timeout: float | None = None) -> None:
        self.stopping.set()
        self.join(timeout)
