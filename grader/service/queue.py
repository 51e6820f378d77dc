"""The grading queue of one process: a submission graded at once, and a sweep for the rest.

One :class:`GradingQueue` per application (``app.extensions``), under a lease name
of its own. The request that stores a submission leases its job to the queue in
the same transaction (:meth:`GradingQueue.new_job`), then has it graded at once
(:meth:`GradingQueue.grade_now`). A background thread sweeps the jobs nobody
holds: queued ones, and leases that lapsed (see :mod:`grader.service.jobs`).
"""

from __future__ import annotations

import logging
import os
import threading
import time
import uuid
from datetime import datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask import Flask, current_app
from sqlalchemy.orm.attributes import set_committed_value

from grader.judge.verdict import Verdict
from grader.service import jobs
from grader.service.db import database
from grader.service.models import GradingJob, Submission, utcnow

if TYPE_CHECKING:
    from grader.service.remote.web import RemoteQueue

log = logging.getLogger(__name__)

SWEEP_SECONDS_DEFAULT = 10.0
EXTENSION = "grader.service.queue"


class GradingQueue:
    """Grades the submissions of one process, each once (see :mod:`grader.service.jobs`)."""

    grades_elsewhere = False  # see grader.service.remote.web.RemoteQueue for the other kind

    def __init__(
        self,
        sessionmaker: so.sessionmaker[so.Session],
        policy: jobs.JobPolicy | None = None,
        sweep_seconds: float = SWEEP_SECONDS_DEFAULT,
    ) -> None:
        self.sessionmaker = sessionmaker
        self.policy = policy or jobs.JobPolicy()
        self.sweep_seconds = sweep_seconds
        self._nonce = uuid.uuid4().hex[:8]
        self._stopping = threading.Event()
        self._sweeper: threading.Thread | None = None

    @property
    def name(self) -> str:
        """The owner on the leases this queue takes (a forked process has a name of its own)."""
        return f"{jobs.owner_prefix(os.getpid())}{self._nonce}"

    def new_job(self, now: datetime | None = None) -> GradingJob:
        """The job of a submission being stored, leased to this queue (the caller adds it)."""
        now = now or utcnow()
        job = GradingJob(attempts=0, created_at=now)
        jobs.lease(job, self.name, self.policy, now)
        return job

    def enqueue(self, session: so.Session, submission: Submission) -> None:
        """Nothing more to store: the job is leased to this queue, graded by the request."""

    def grade_now(self, job: GradingJob) -> Verdict | None:
        """Grade a committed job this queue holds and store the verdict; None when none was.

        The job and its submission then show what was stored. When grading fails, or
        the database fails while storing it, the job stays to be graded again: the
        submission is stored, and pending. Its lease lapses, and a sweep takes it.
        """
        held = jobs.Lease.of(job)
        outcome = self._grade(held)
        if outcome is None:
            return None
        verdict, columns = outcome
        for key, value in columns.items():
            set_committed_value(job.submission, key, value)
        for key, value in (("state", "done"), ("lease_owner", None), ("lease_expires_at", None)):
            set_committed_value(job, key, value)
        return verdict

    def retry(self, session: so.Session, job: GradingJob) -> bool:
        """Grade again, now, a job that failed for good (commits); False if it had not failed."""
        if not jobs.retry(session, job, self.name, self.policy):
            return False
        session.commit()
        self.grade_now(job)
        return True

    def sweep(self, now: datetime | None = None) -> int:
        """Claim and grade until no job is left to claim; the number of verdicts stored."""
        stored = 0
        while True:
            with self.sessionmaker() as session:
                batch = jobs.claim(session, self.name, self.policy, now=now)
            if not batch:
                return stored
            stored += sum(self._grade(held) is not None for held in batch)

    def _grade(self, held: jobs.Lease) -> tuple[Verdict, dict[str, Any]] | None:
        started = time.perf_counter()
        try:
            try:
                verdict = jobs.judge(held, self.sessionmaker)
            except Exception as error:
                log.exception("grading submission %s failed", held.submission_id)
                with self.sessionmaker() as session:
                    jobs.fail(session, held, error, self.policy)
                return None
            elapsed = (time.perf_counter() - started) * 1000
            with self.sessionmaker() as session:
                columns = jobs.finish(session, held, verdict, elapsed)
        except sa.exc.SQLAlchemyError as error:
            # stored all the same: the lease lapses and a sweep grades the job again
            log.error("grading of submission %s not stored: %s", held.submission_id, error)
            return None
        return None if columns is None else (verdict, columns)

    def start(self) -> None:
        """Sweep in a background thread every ``sweep_seconds``, until :meth:`stop`."""
        if self._sweeper is not None and self._sweeper.is_alive():
            return
        self._stopping.clear()
        self._sweeper = threading.Thread(target=self._sweep_forever, name="grading-sweeper", daemon=True)
        self._sweeper.start()

    def stop(self, timeout: float | None = None) -> None:
        self._stopping.set()
        if self._sweeper is not None:
            self._sweeper.join(timeout)

    @property
    def sweeping(self) -> bool:
        return self._sweeper is not None and self._sweeper.is_alive()

    def _sweep_forever(self) -> None:
        while not self._stopping.is_set():
            try:
                graded = self.sweep()
                if graded:
                    log.info("graded %d submission(s) whose grading was left unfinished", graded)
            except Exception:  # the database may be briefly away: try again next sweep
                log.exception("grading sweep failed")
            self._stopping.wait(self.sweep_seconds)


def init_app(app: Flask) -> None:
    if app.config["GRADING_QUEUE"] == "procrastinate":
        from grader.service.remote import web

        app.extensions[EXTENSION] = web.from_app(app)
        return
    app.extensions[EXTENSION] = GradingQueue(
        database(app).sessionmaker,
        jobs.JobPolicy.from_config(app.config),
        app.config["JOB_SWEEP_SECONDS"],
    )


def grading_queue(app: Flask | None = None) -> GradingQueue | RemoteQueue:
    return (app or current_app).extensions[EXTENSION]
