"""``grader serve``: migrate, optionally load the demo, grade what a restart left, serve."""

from __future__ import annotations

import logging
import threading

import waitress
from flask import Flask

from grader import demo as demo_course
from grader import jobs
from grader.db import database
from grader.web import create_app

log = logging.getLogger(__name__)


def start_job_runner(app: Flask) -> jobs.JobRunner:
    """The background grader of interrupted, expired and queued jobs, started."""
    runner = jobs.JobRunner(
        database(app).sessionmaker,
        jobs.JobPolicy.from_config(app.config),
        app.config["JOB_SWEEP_SECONDS"],
    )
    runner.start()
    return runner


def warm_sandbox() -> None:
    """Start the sandbox daemons in the background, so the first function answer waits less."""

    def warm() -> None:
        from grader.sandbox.pool import default_pool

        try:
            default_pool().warm()
        except Exception as error:  # the service still grades matrices; functions wait in the queue
            log.warning("the sandbox for function answers did not start: %s", error)

    threading.Thread(target=warm, name="sandbox-warm", daemon=True).start()


def print_demo_logins(app: Flask, loaded: list[demo_course.Login] | None) -> None:
    logins = loaded or demo_course.saved_logins(app)
    if logins is None:
        print("The database already has users: the demo course was not loaded.")
        return
    print("Demo course ML101 (log in at the address below):")
    for login in logins:
        print(f"  {login.role:<10}  name {login.name:<8}  password {login.password}")
    print("API tokens: `grader user add NAME --role student|instructor` prints one.")


def serve(host: str, port: int, demo: bool, threads: int) -> None:
    """Serve the application with waitress (creating and migrating the database first)."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)
    # "Task queue depth is N" on every request that waits for a thread: load, not news
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)
    app = create_app()  # migrates the database to the newest schema
    if demo:
        print_demo_logins(app, demo_course.load_if_empty(app))
    start_job_runner(app)
    warm_sandbox()
    print(f"Serving on http://{host}:{port}", flush=True)
    waitress.serve(app, host=host, port=port, threads=threads, ident="grader", _quiet=True)
