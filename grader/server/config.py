"""gunicorn's configuration for the grader: its settings and its server hooks.

``grader serve`` loads it (see :mod:`grader.server`); any gunicorn may too::

    gunicorn -c python:grader.server.config 'grader.web:create_app()'

At start, the master migrates the database and queues again the gradings a crash
left half done; a worker that dies has its own queued again at once. Each worker
loads its own application (no preloading: nothing of the master's reaches a
worker), starts the sweep of its grading queue and its sandbox daemons, and stops
them when it exits.
"""

from __future__ import annotations

import logging
import os
import threading
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so

from grader.sandbox import pool as sandbox_pool
from grader.service import db, jobs, rate_limits, settings
from grader.service.lti import ags as lti_ags
from grader.service.queue import grading_queue

log = logging.getLogger("grader.server")

SQLITE_WORKERS = 1  # SQLite has one writer at a time: see the README on `grader serve`
SERVER_WORKERS_MAX = 4
THREADS_DEFAULT = 8
LTI_SENDER = "grader.service.lti.sender"  # a worker's sender of LMS scores, on its app


def default_workers(database_url: str | None = None) -> int:
    """Server processes by default: one on SQLite, else one per core it may run on, up to 4."""
    url = sa.make_url(database_url or settings.database_url())
    if url.get_backend_name() == "sqlite":
        return SQLITE_WORKERS
    return max(1, min(len(os.sched_getaffinity(0)), SERVER_WORKERS_MAX))


# ---- settings (gunicorn reads the module's names that are its settings) ----------------

bind = ["127.0.0.1:8000"]
workers = default_workers()
worker_class = "gthread"
threads = THREADS_DEFAULT
backlog = 1024
# an API client that pauses between submissions keeps its connection: at gunicorn's 2 s a
# POST sent as the server closes an idle connection is reset (idle connections cost the
# gthread worker no thread, only a place in its poller)
keepalive = 30
graceful_timeout = 10
proc_name = "grader"
accesslog = None
errorlog = "-"
loglevel = "info"
# the default socket path is one per user: servers of one user would take each other's
control_socket_disable = True


# ---- server hooks -----------------------------------------------------------------------


def _session_factory() -> tuple[sa.Engine, so.sessionmaker[so.Session]]:
    engine = db.make_engine(settings.database_url(), poolclass=sa.NullPool)
    return engine, so.sessionmaker(engine)


def on_starting(server: Any) -> None:
    """The master, before it binds: migrate, make the file of the rate limits' counters that
    its processes share on SQLite, and queue again what a crash left running."""
    db.upgrade_database(settings.database_url())
    if server is not None and server.cfg.workers > 1:
        rate_limits.prepare_counters(settings.database_url())
    if settings.Settings().queue == "procrastinate":  # the workers' queue keeps its own tasks
        from grader.service.remote.database import adopt_orphans, ensure_schema

        ensure_schema(settings.database_url())
        adopted = adopt_orphans(settings.database_url())
        if adopted:
            log.warning("%d submission(s) waiting without a task (graded in process before) "
                        "are queued for the workers", adopted)
        return
    engine, sessionmaker = _session_factory()
    try:
        with sessionmaker() as session:
            requeued = jobs.requeue(session)
    finally:
        engine.dispose()
    if requeued:
        log.warning("%d submission(s) left half graded by a stop are queued again", requeued)


def when_ready(server: Any) -> None:
    print(f"Serving on {', '.join(f'http://{address}' for address in server.cfg.bind)}", flush=True)


def post_worker_init(worker: Any) -> None:
    """A worker whose application is loaded: its grading sweep, its sender of LMS scores
    and its sandbox start (on slots of its own among the host's: see grader.sandbox.slots;
    a respawned worker takes those of the one that died)."""
    app = worker.wsgi
    queue = grading_queue(app)
    queue.start()
    sender = app.extensions[LTI_SENDER] = lti_ags.PushRunner(db.database(app).sessionmaker)
    sender.start()
    if queue.grades_elsewhere:  # `grader worker` processes run the student code
        return

    def warm() -> None:
        try:
            sandbox_pool.default_pool().warm()
        except Exception as error:  # matrices are still graded; functions wait in the queue
            log.warning("the sandbox for function answers did not start: %s", error)

    threading.Thread(target=warm, name="sandbox-warm", daemon=True).start()


def worker_exit(server: Any, worker: Any) -> None:
    app = getattr(worker, "wsgi", None)
    if app is not None:
        grading_queue(app).stop(timeout=graceful_timeout)
        if LTI_SENDER in app.extensions:
            app.extensions[LTI_SENDER].stop(timeout=graceful_timeout)
        db.database(app).dispose()
    sandbox_pool.close_default_pool()


def child_exit(server: Any, worker: Any) -> None:
    """The master, when a worker has exited: its half-graded submissions are queued again."""
    engine, sessionmaker = _session_factory()
    try:
        with sessionmaker() as session:
            requeued = jobs.requeue(session, jobs.owner_prefix(worker.pid))
    except sa.exc.SQLAlchemyError as error:  # their leases lapse, and a sweep takes them
        log.error("could not queue again the jobs of worker %s: %s", worker.pid, error)
        return
    finally:
        engine.dispose()
    if requeued:
        log.warning("worker %s left %d submission(s) half graded: queued again", worker.pid, requeued)
