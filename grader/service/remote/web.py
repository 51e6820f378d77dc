"""The grading queue of a web process when workers grade: defer, then wait a while for the verdict.

:meth:`RemoteQueue.enqueue` defers the grading task through the connection of the
transaction that stores the submission (procrastinate's external connection), so
they commit together or not at all. :meth:`RemoteQueue.grade_now` waits, up to a
set time, for a worker to store the verdict: a listener thread wakes the request
on the worker's NOTIFY, and a check of the row now and then covers a lost one. The
same thread wakes this process's LMS score sender when a worker's verdict moved a
score, which it would otherwise find only on its next sweep.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import datetime

import procrastinate
import psycopg
import sqlalchemy as sa
import sqlalchemy.orm as so
from flask import Flask

from grader.judge.verdict import Verdict
from grader.service.db import database
from grader.service.lti import ags
from grader.service.models import GradingJob, Submission, utcnow
from grader.service.remote.database import QueueStatus, conninfo, defer_grading, queue_status
from grader.service.remote.grading import VERDICT_CHANNEL

log = logging.getLogger(__name__)

RECHECK_SECONDS = 0.5  # a NOTIFY may be missed (the listener reconnecting): look at the row
# done comes with the verdict, in one transaction; failed is for good, until a regrade
SETTLED = sa.select(GradingJob.state.in_(("done", "failed"))).where(
    GradingJob.submission_id == sa.bindparam("submission_id")
)


class RemoteQueue:
    """Submissions graded by ``grader worker`` processes; this process runs no student code."""

    grades_elsewhere = True

    def __init__(self, sessionmaker: so.sessionmaker[so.Session], database_url: str,
                 wait_seconds: float, stalled_seconds: float = 30.0, waiters: int = 4) -> None:
        self.sessionmaker = sessionmaker
        self.database_url = database_url
        self.wait_seconds = wait_seconds
        # a request that waits holds a server thread: past this many, answer at once
        self._waiters = threading.BoundedSemaphore(waiters) if waiters else None
        self.stalled_seconds = stalled_seconds
        # deferring only, on the caller's connection: the connector's own pool is never opened
        self.app = procrastinate.App(
            connector=procrastinate.SyncPsycopgConnector(conninfo=conninfo(database_url))
        )
        self._waiting: dict[int, threading.Event] = {}
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._listener: threading.Thread | None = None

    def new_job(self, now: datetime | None = None) -> GradingJob:
        """The job of a submission being stored: queued for the workers."""
        return GradingJob(state="queued", attempts=0, created_at=now or utcnow())

    def enqueue(self, session: so.Session, submission: Submission) -> None:
        """Defer the grading of ``submission`` in the session's transaction (the caller commits)."""
        session.flush()  # the transaction is begun, and the submission has its id
        # procrastinate's external connection: its INSERT joins this transaction, and commits
        # or rolls back with it (psycopg's own connection is what procrastinate takes)
        defer_grading(self.app, session.connection().connection.driver_connection, submission.id)

    def grade_now(self, job: GradingJob) -> Verdict | None:
        """Wait up to ``wait_seconds`` for a worker's verdict; the job and its submission
        then show what is stored. None when it is not there yet, and at once when as many
        requests as allowed are waiting already."""
        if self._waiters is None or not self._waiters.acquire(blocking=False):
            return None
        try:
            return self._wait(job)
        finally:
            self._waiters.release()

    def _wait(self, job: GradingJob) -> Verdict | None:
        submission_id = job.submission_id
        event = threading.Event()
        with self._lock:
            self._waiting[submission_id] = event
        deadline = time.monotonic() + self.wait_seconds
        try:
            while not self._settled(submission_id):
                left = deadline - time.monotonic()
                # the NOTIFY comes with the verdict (or the failure for good): no need to look
                if left <= 0 or event.wait(min(left, RECHECK_SECONDS)):
                    break
        finally:
            with self._lock:
                self._waiting.pop(submission_id, None)
        session = so.object_session(job)
        if session is not None:  # the submission and its job as stored now, in one read
            session.execute(
                sa.select(Submission).options(so.joinedload(Submission.job, innerjoin=True))
                .where(Submission.id == submission_id)
                .execution_options(populate_existing=True)
            ).scalar_one()
        verdict = job.submission.verdict
        return Verdict.model_validate(verdict) if verdict is not None else None

    def _settled(self, submission_id: int) -> bool:
        with self.sessionmaker() as session:
            return bool(session.scalar(SETTLED, {"submission_id": submission_id}))

    def retry(self, session: so.Session, job: GradingJob) -> bool:
        """Queue again a job that failed for good (commits); False if it had not failed."""
        session.refresh(job, with_for_update=True)
        if job.state != "failed":
            session.rollback()
            return False
        job.state, job.finished_at, job.last_error = "queued", None, None
        self.enqueue(session, job.submission)
        session.commit()
        return True

    def sweep(self, now: datetime | None = None) -> int:
        """Nothing to sweep here: procrastinate keeps the tasks and retries them."""
        return 0

    def status(self) -> QueueStatus:
        with self.sessionmaker() as session:
            return queue_status(session.connection(), self.stalled_seconds)

    # ---- the listener thread --------------------------------------------------------

    def start(self) -> None:
        if self._listener is not None and self._listener.is_alive():
            return
        self._stopping.clear()
        self._listener = threading.Thread(target=self._listen_forever, name="verdict-listener",
                                          daemon=True)
        self._listener.start()

    def stop(self, timeout: float | None = None) -> None:
        self._stopping.set()
        if self._listener is not None:
            self._listener.join(timeout)

    @property
    def sweeping(self) -> bool:
        return self._listener is not None and self._listener.is_alive()

    def _listen_forever(self) -> None:
        while not self._stopping.is_set():
            try:
                with psycopg.connect(conninfo(self.database_url), autocommit=True) as connection:
                    connection.execute(f"LISTEN {VERDICT_CHANNEL}")
                    connection.execute(f"LISTEN {ags.SCORES_CHANNEL}")
                    while not self._stopping.is_set():
                        for notice in connection.notifies(timeout=RECHECK_SECONDS):
                            if notice.channel == ags.SCORES_CHANNEL:
                                ags.wake.set()  # a worker's verdict moved an LMS score
                            else:
                                self._wake(notice.payload)
            except psycopg.Error as error:  # the database is away: waiters check the rows meanwhile
                log.warning("verdict listener lost its connection: %s", error)
                self._stopping.wait(1.0)

    def _wake(self, payload: str) -> None:
        try:
            submission_id = int(payload)
        except ValueError:
            return
        with self._lock:
            event = self._waiting.get(submission_id)
        if event is not None:
            event.set()


def from_app(app: Flask) -> RemoteQueue:
    return RemoteQueue(
        database(app).sessionmaker,
        app.config["DATABASE_URL"],
        app.config["SUBMIT_WAIT_SECONDS"],
        app.config["WORKER_STALLED_SECONDS"],
        app.config["SUBMIT_WAITERS"],
    )
