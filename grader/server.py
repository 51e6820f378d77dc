"""``grader serve``: migrate, optionally load the demo, grade what a restart left, serve.

One process grades under one interpreter lock, so a server on several cores runs
several processes (``--workers``): the parent migrates the database, loads the
demo, binds the port, queues again what a crash left running, and forks the
workers, which all accept on it, each with its own threads, database
connections, sandbox slots and name on the leases it takes. The parent only
watches: a worker that dies is started again, and the workers die with it.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import signal
import socket
import sys
import threading
import time
from types import FrameType
from typing import NoReturn

import waitress
from flask import Flask

from grader.sandbox import pool as sandbox_pool
from grader.service import demo as demo_course
from grader.service import jobs
from grader.service.db import database
from grader.service.lti import ags as lti_ags
from grader.web import create_app

log = logging.getLogger(__name__)

PR_SET_PDEATHSIG = 1  # prctl(2): the signal a process gets when its parent dies
RESPAWN_PAUSE_SECONDS = 1.0  # before a worker that died is started again
QUICK_DEATH_SECONDS = 10.0  # a worker that dies sooner after its start...
MAX_QUICK_DEATHS = 5  # ...this many times in a row will not start: the server stops
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)
LISTEN_BACKLOG = 1024


def default_workers() -> int:
    """Server processes by default: one per core, up to 4 (SQLite has one writer at a time)."""
    return max(1, min(os.cpu_count() or 1, 4))


def start_job_runner(app: Flask, take_over_at_start: bool = True) -> jobs.JobRunner:
    """The background grader of interrupted, expired and queued jobs, started."""
    runner = jobs.JobRunner(
        database(app).sessionmaker,
        jobs.JobPolicy.from_config(app.config),
        app.config["JOB_SWEEP_SECONDS"],
        take_over_at_start=take_over_at_start,
    )
    runner.start()
    lti_ags.PushRunner(database(app).sessionmaker).start()  # scores for the LMS, retried
    return runner


def warm_sandbox() -> None:
    """Start the sandbox daemons in the background, so the first function answer waits less."""

    def warm() -> None:
        try:
            sandbox_pool.default_pool().warm()
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


def serve(host: str, port: int, demo: bool, threads: int, workers: int = 1) -> int:
    """Serve the application with waitress, in ``workers`` processes (creating and migrating
    the database first); the exit status."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)
    # "Task queue depth is N" on every request that waits for a thread: load, not news
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)
    app = create_app()  # migrates the database to the newest schema
    if demo:
        print_demo_logins(app, demo_course.load_if_empty(app))
    if workers <= 1:
        start_job_runner(app)
        warm_sandbox()
        print(f"Serving on http://{host}:{port}", flush=True)
        waitress.serve(app, host=host, port=port, threads=threads, ident="grader", _quiet=True)
        return 0

    listener = listen(host, port)  # first: a second server on this port stops here, harmless
    requeued = jobs.requeue_orphans(database(app).sessionmaker)
    if requeued:
        log.warning("%d submission(s) left unfinished by a restart are queued for grading", requeued)
    # nothing of this process's may reach the workers: connections, daemons, threads
    database(app).dispose()
    sandbox_pool.close_default_pool()
    print(f"Serving on http://{host}:{port} ({workers} processes of {threads} threads)", flush=True)
    return Supervisor(listener, workers, threads).run()


def listen(host: str, port: int) -> socket.socket:
    """The listening socket the workers share, IPv4 or IPv6 as ``host`` resolves."""
    family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
    both = family == socket.AF_INET6 and host in ("::", "") and socket.has_dualstack_ipv6()
    return socket.create_server(
        (host, port), family=family, backlog=LISTEN_BACKLOG, dualstack_ipv6=both
    )


class Supervisor:
    """Forks the worker processes that serve on ``listener``, and starts again any that dies."""

    def __init__(self, listener: socket.socket, workers: int, threads: int) -> None:
        self.listener = listener
        self.workers = workers
        self.threads = threads
        self.children: dict[int, int] = {}  # pid -> worker number
        self.started: dict[int, float] = {}  # pid -> when it was forked
        self.quick_deaths = 0  # in a row
        self.stopping = False
        self.gave_up = False

    def run(self) -> int:
        """Serve until a stop signal (0), or until the workers keep dying at start (1)."""
        previous = {sig: signal.signal(sig, self._stop) for sig in STOP_SIGNALS}
        try:
            for number in range(self.workers):
                if not self.stopping:
                    self._spawn(number)
            while self.children:
                try:
                    pid, status = os.wait()
                except ChildProcessError:
                    break
                number = self.children.pop(pid, None)
                started = self.started.pop(pid, time.monotonic())
                if number is None or self.stopping:
                    continue
                log.error("worker %d (pid %d) ended (%s): starting it again", number, pid,
                          _describe(status))
                quick = time.monotonic() - started < QUICK_DEATH_SECONDS
                self.quick_deaths = self.quick_deaths + 1 if quick else 0
                if self.quick_deaths >= MAX_QUICK_DEATHS:
                    log.error("workers died %d times in a row within %.0f s of starting: "
                              "the server stops", self.quick_deaths, QUICK_DEATH_SECONDS)
                    self.gave_up = True
                    self._stop(signal.SIGTERM, None)
                    continue
                time.sleep(RESPAWN_PAUSE_SECONDS)
                if not self.stopping:
                    self._spawn(number)
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            self._signal_children(signal.SIGTERM)
            self.listener.close()
        return 1 if self.gave_up else 0

    def _stop(self, signum: int, frame: FrameType | None) -> None:
        self.stopping = True
        self._signal_children(signal.SIGTERM)

    def _signal_children(self, signum: int) -> None:
        for pid in list(self.children):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signum)

    def _spawn(self, number: int) -> None:
        supervisor = os.getpid()
        # A stop signal must neither fall between the fork and the child's registration
        # (it would not be passed on) nor reach the child before it drops our handler.
        mask = signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
        try:
            pid = os.fork()
            if pid == 0:
                for sig in STOP_SIGNALS:
                    signal.signal(sig, signal.SIG_DFL)
                signal.pthread_sigmask(signal.SIG_SETMASK, mask)
                self._be_worker(number, supervisor)
            self.children[pid] = number
            self.started[pid] = time.monotonic()
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, mask)

    def _be_worker(self, number: int, supervisor: int) -> NoReturn:
        code = 1
        try:
            worker(self.listener, number, self.threads, supervisor)
            code = 0
        except BaseException:
            log.exception("worker %d failed", number)
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)


def worker(listener: socket.socket, number: int, threads: int, supervisor: int) -> None:
    """One server process: its own application, grading runner and sandbox slots."""
    _die_with(supervisor)
    sandbox_pool.use_slots_from(number * sandbox_pool.default_size())
    app = create_app({"MIGRATE_ON_START": False})
    # the parent queued what was left running; a lease another worker holds is not taken
    start_job_runner(app, take_over_at_start=False)
    warm_sandbox()
    waitress.serve(app, sockets=[listener], threads=threads, ident="grader", _quiet=True)


def _die_with(supervisor: int) -> None:
    """Have the kernel end this process when the supervisor ends, even by SIGKILL."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")
    if os.getppid() != supervisor:  # it died before the request took hold
        os._exit(1)


def _describe(status: int) -> str:
    if os.WIFSIGNALED(status):
        number = os.WTERMSIG(status)
        try:
            return f"signal {signal.Signals(number).name}"
        except ValueError:  # a real-time signal has no name
            return f"signal {number}"
    return f"exit status {os.waitstatus_to_exitcode(status)}"
