"""The real server (``grader serve``: gunicorn, with one or several worker processes) on a
free port: load, a kill -9 mid-grading, and workers that die."""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
import sqlalchemy as sa
import sqlalchemy.orm as so

import exercises
from grader.service import db, variants
from grader.service.models import GradingJob, Item, Submission
from grader.web import create_app
from tests.conftest import Account, Builder, alive, wait_for

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
THREADS = 16
SUBMISSIONS = 200
STUDENTS = 16
FUNCTION_SOURCE = """
import numpy as np

def softmax_jacobian(z):
    s = np.exp(z - z.max())
    s = s / s.sum()
    return np.diag(s) - np.outer(s, s)
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Course:
    url: str
    students: list[Account]
    items: list[int]
    instances: dict[tuple[int, int], dict]


def build_course(url: str, tmp_path: Path) -> Course:
    """A course of 16 students and two items on the database at ``url``, each student's
    instances drawn, built before any server starts."""
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "x", "INSTANCE_PATH": str(tmp_path)})
    build = Builder(app)
    teacher = build.user("teacher", "instructor")
    students = [build.user(f"student{i:02d}") for i in range(STUDENTS)]
    course_id = build.course(teacher, students)
    _, items = build.assignment(course_id, [{"kind": "softmax_jacobian", "K": 3},
                                            {"kind": "layer_jacobian", "n": 2, "K": 3}])
    instances = {}
    with build.sessionmaker() as session:
        for item_id in items:
            item = session.get(Item, item_id)
            for student in students:
                instances[student.id, item_id] = variants.instance_for(session, item, student.id)
        session.commit()
    db.database(app).dispose()
    return Course(url, students, items, instances)


@pytest.fixture
def course(tmp_path: Path) -> Course:
    """A SQLite database with the course, migrated first."""
    url = f"sqlite:///{tmp_path / 'grader.sqlite'}"
    db.upgrade_database(url)
    return build_course(url, tmp_path)


class Server:
    def __init__(self, tmp_path: Path, url: str) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            "GRADER_DATABASE_URL": url,
            "GRADER_INSTANCE_PATH": str(tmp_path),
            "GRADER_SECRET_KEY": "live-test",
            "GRADER_SUBMISSIONS_PER_MINUTE": "100000",
            # four students send every function answer from sixteen threads: not the per-user limits
            "GRADER_SANDBOX_RUNS_PER_MINUTE": "100000",
            "GRADER_SANDBOX_RUNS_AT_ONCE": "16",
            "GRADER_JOB_SWEEP_SECONDS": "0.2",
        }
        self.log = tmp_path / "server.log"
        self.process: subprocess.Popen | None = None

    def start(self, *command: str) -> None:
        argv = command or ("-m", "grader.cli", "serve", "--port", str(self.port), "--threads", "8")
        with self.log.open("a") as log:
            # a session of its own: a crash is the whole server killed, master and workers
            self.process = subprocess.Popen(
                [sys.executable, *argv], cwd=ROOT, env=self.env, stdout=log, stderr=log,
                start_new_session=True,
            )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if requests.get(f"{self.base}/healthz", timeout=1).status_code == 200:
                    return
            except requests.RequestException:  # refused, or accepted before a worker is ready
                time.sleep(0.1)
        raise AssertionError(f"the server did not start:\n{self.log.read_text()}")

    def children(self) -> set[int]:
        """The server's own child processes: gunicorn's workers."""
        assert self.process is not None
        pid = self.process.pid
        try:
            return {int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()}
        except FileNotFoundError:
            return set()

    def kill(self) -> None:
        """SIGKILL to gunicorn's master only: no chance to stop its workers itself."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def crash(self) -> None:
        """SIGKILL to every process of the server at once, as a machine's crash would."""
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)


@pytest.fixture
def server(tmp_path: Path, course: Course) -> Iterator[Server]:
    server = Server(tmp_path, course.url)
    yield server
    server.stop()


def answer_for(course: Course, n: int) -> dict:
    """The n-th submission: matrix answers (right or transposed) and function answers, mixed."""
    student = course.students[n % STUDENTS]
    item_id = course.items[n % len(course.items)]
    if n % 4 == 3:
        return {"student": student, "item_id": course.items[0], "format": "python",
                "answer": FUNCTION_SOURCE}
    exercise, normal = exercises.validate(course.instances[student.id, item_id])
    reference = exercise.reference(normal)
    array = reference if n % 2 == 0 else reference.T
    return {"student": student, "item_id": item_id, "format": "json",
            "answer": json.dumps(array.tolist())}


_clients = threading.local()


def post(base: str, spec: dict, timeout: float = 60) -> requests.Response:
    """One submission, on the calling thread's own keep-alive connection."""
    if not hasattr(_clients, "session"):
        _clients.session = requests.Session()
    return _clients.session.post(
        f"{base}/api/v1/submissions",
        json={"item_id": spec["item_id"], "answer": spec["answer"], "format": spec["format"]},
        headers={"Authorization": f"Bearer {spec['student'].token}"},
        timeout=timeout,
    )


def stored(url: str) -> list[tuple[Submission, GradingJob]]:
    engine = db.make_engine(url, poolclass=sa.NullPool)
    try:
        with so.Session(engine) as session:
            return list(session.execute(
                sa.select(Submission, GradingJob).join(GradingJob).order_by(Submission.id)
            ))
    finally:
        engine.dispose()


def test_a_client_that_pauses_keeps_its_connection(server: Server, course: Course):
    server.start("-m", "grader.cli", "serve", "--port", str(server.port))
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    try:
        for pause in (0, 3):  # longer than gunicorn's own 2 s
            time.sleep(pause)
            connection.request("GET", "/healthz")
            response = connection.getresponse()
            assert (response.status, response.read()) == (200, b'{"ok":true}')
    finally:
        connection.close()


@pytest.mark.parametrize("workers", [1, 2])
def test_200_submissions_from_16_threads(server: Server, course: Course, workers: int):
    server.start("-m", "grader.cli", "serve", "--port", str(server.port), "--workers", str(workers))
    specs = [answer_for(course, n) for n in range(SUBMISSIONS)]
    with ThreadPoolExecutor(THREADS) as pool:
        responses = list(pool.map(lambda spec: post(server.base, spec), specs))
    assert [r.status_code for r in responses] == [201] * SUBMISSIONS
    bodies = [r.json() for r in responses]
    assert all(body["status"] == "graded" for body in bodies)
    for n, body in enumerate(bodies):
        if specs[n]["format"] == "python":  # graded in the sandbox, whose limits are its own
            assert 0 <= body["verdict"]["score"] <= 1, body["verdict"]
            continue
        expected = n % 2 == 0 or n % len(course.items) == 0  # softmax_jacobian is symmetric
        assert body["verdict"]["correct"] is expected, (n, body["verdict"])
    ids = [body["id"] for body in bodies]
    assert len(set(ids)) == SUBMISSIONS
    rows = stored(course.url)
    assert [s.id for s, _ in rows] == sorted(ids)  # each stored exactly once
    assert all(job.state == "done" and job.attempts == 1 for _, job in rows)
    assert all(s.verdict is not None for s, _ in rows)


def test_workers_are_started_again_and_die_with_the_server(server: Server, course: Course):
    server.start("-m", "grader.cli", "serve", "--port", str(server.port), "--workers", "2")
    assert wait_for(lambda: len(server.children()) == 2), server.log.read_text()
    workers = server.children()
    lost = min(workers)
    os.kill(lost, signal.SIGKILL)
    assert wait_for(lambda: len(server.children() - {lost}) == 2), server.log.read_text()
    assert f"Worker (pid:{lost}) was sent SIGKILL" in server.log.read_text()
    specs = [answer_for(course, n) for n in range(0, 24, 2)]
    with ThreadPoolExecutor(4) as pool:
        assert set(pool.map(lambda spec: post(server.base, spec).status_code, specs)) == {201}
    workers = server.children()
    server.kill()  # SIGKILL: no chance to stop them itself
    assert wait_for(lambda: not any(alive(pid) for pid in workers)), "workers outlived the server"


@pytest.mark.parametrize("workers", [1, 2])
def test_killed_mid_grading_nothing_is_lost(
    server: Server, course: Course, tmp_path: Path, workers: int
):
    server.start(
        str(ROOT / "tests" / "slow_grading_server.py"), "1.5", str(server.port), str(workers)
    )
    specs = [answer_for(course, n) for n in range(32)]
    pool = ThreadPoolExecutor(THREADS)

    def send(spec: dict) -> int | None:
        try:
            return post(server.base, spec, timeout=30).json()["id"]
        except requests.RequestException:
            return None  # cut off by the kill

    futures = [pool.submit(send, spec) for spec in specs]
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:  # wait until some are stored and being graded
        running = [job for _, job in stored(course.url) if job.state == "running"]
        if len(running) >= 4:
            break
        time.sleep(0.05)
    assert len(running) >= 4, server.log.read_text()
    processes = server.children()
    server.crash()
    assert wait_for(lambda: not any(alive(pid) for pid in processes))
    acknowledged = {f.result() for f in futures} - {None}
    pool.shutdown()
    before = stored(course.url)
    interrupted = {s.id for s, job in before if job.state != "done"}
    assert interrupted  # the kill did land mid-grading

    server.start()  # the ordinary server: it grades what the killed one left
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        after = stored(course.url)
        if all(job.state == "done" for _, job in after):
            break
        time.sleep(0.2)
    after = stored(course.url)
    assert [s.id for s, _ in after] == [s.id for s, _ in before]  # nothing lost, nothing doubled
    assert acknowledged <= {s.id for s, _ in after}
    assert all(job.state == "done" and s.verdict is not None for s, job in after)
    regraded = {s.id: job.attempts for s, job in after if s.id in interrupted}
    assert all(attempts >= 2 for attempts in regraded.values())
    student = course.students[0]
    response = requests.get(f"{server.base}/api/v1/submissions/{next(iter(interrupted))}",
                            headers={"Authorization": f"Bearer {course.students[0].token}"},
                            timeout=10)
    assert response.status_code in (200, 404)  # 404 when it is another student's
    assert student.token


def login_failure_statuses(server: Server, name: str, password: str, times: int) -> list[int]:
    """Each login on a connection of its own: gunicorn hands each to either process."""
    statuses = []
    for _ in range(times):
        with requests.Session() as client:
            csrf = client.get(f"{server.base}/api/v1/session", timeout=30).json()["csrf_token"]
            answered = client.post(f"{server.base}/api/v1/session", json={"name": name, "password": password},
                                   headers={"X-CSRFToken": csrf}, timeout=30)
            statuses.append(answered.status_code)
    return statuses


def test_two_processes_on_sqlite_count_failed_logins_against_one_limit(server: Server, course: Course,
                                                                        tmp_path: Path):
    app = create_app({"DATABASE_URL": course.url, "SECRET_KEY": "x", "INSTANCE_PATH": str(tmp_path)})
    Builder(app).user("mallory", password="the right password")
    db.database(app).dispose()
    server.env["GRADER_LOGIN_FAILURES_PER_ACCOUNT"] = "4 per 15 minutes"
    server.start("-m", "grader.cli", "serve", "--port", str(server.port), "--workers", "2")
    assert wait_for(lambda: len(server.children()) == 2), server.log.read_text()
    assert login_failure_statuses(server, "mallory", "guess", 4) == [401] * 4
    # counted in one window whichever process took each: each of the two counting its own
    # would let the guesses go on, and the right password in, until both had seen four
    assert login_failure_statuses(server, "mallory", "guess", 6) == [429] * 6
    assert login_failure_statuses(server, "mallory", "the right password", 2) == [429] * 2
