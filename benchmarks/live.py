"""What the benchmarks that start a real ``grader serve`` share: a class of students with
their tokens and right answers, the server itself, and the wait for its gradings to end."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import requests
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import exercises
from grader.service import accounts, db, variants
from grader.service.models import (
    Assignment,
    Course,
    Enrolment,
    GradingJob,
    Item,
    Submission,
)

ROOT = Path(__file__).resolve().parents[1]


def cpu_ticks() -> list[int]:
    """The machine's CPU time so far by kind (user, nice, system, idle, iowait, irq, softirq,
    steal, ...), in ticks of SC_CLK_TCK: /proc/stat's first line (Linux)."""
    with open("/proc/stat") as stat:
        return [int(n) for n in stat.readline().split()[1:]]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until_healthy(base: str, attempts: int = 300) -> None:
    """Poll ``/healthz`` until the server answers 200 (about 30 s at most)."""
    for _ in range(attempts):
        try:
            if requests.get(f"{base}/healthz", timeout=1).status_code == 200:
                return
        except requests.RequestException:  # refused, or accepted before the app is ready
            time.sleep(0.1)


def prepare_class(
    url: str, items: Sequence[Item], students: int
) -> tuple[list[int], list[tuple[str, list[np.ndarray]]]]:
    """Migrate the empty database at ``url`` and store a course: an instructor, an assignment
    of ``items`` (no due date, the items' own attempt rules) and ``students`` students.

    Returns the items' ids, and per student their API token and the right answer of their
    own instance of each item, in the items' order.
    """
    db.upgrade_database(url)
    engine = db.make_engine(url)
    people = []
    with sa.orm.Session(engine) as session:
        teacher = accounts.create_user(session, "teacher", "instructor")
        course = Course(code="BENCH", title="Benchmark")
        session.add(course)
        session.flush()
        session.add(Enrolment(course_id=course.id, user_id=teacher.id, role="instructor"))
        assignment = Assignment(course_id=course.id, title="Load", seed=42)
        for position, item in enumerate(items):
            item.position = position
        assignment.items = list(items)
        session.add(assignment)
        session.flush()
        for i in range(students):
            student = accounts.create_user(session, f"student{i:02d}", "student")
            session.add(Enrolment(course_id=course.id, user_id=student.id, role="student"))
            token = accounts.issue_token(session, student)
            references = []
            for item in assignment.items:
                exercise, normal = exercises.validate(variants.instance_for(session, item, student.id))
                references.append(exercise.reference(normal))
            people.append((token, references))
        item_ids = [item.id for item in assignment.items]
        session.commit()
    engine.dispose()
    return item_ids, people


@contextmanager
def serving(url: str, folder: Path, *options: str, env: dict[str, str] | None = None) -> Iterator[str]:
    """``grader serve`` on a free port, with the database at ``url`` and ``folder`` as its
    instance folder (its log in ``folder/server.log``): its base URL once ``/healthz``
    answers; stopped on leaving."""
    port = free_port()
    command = [sys.executable, "-m", "grader.cli", "serve", "--port", str(port), *options]
    environment = {**os.environ, **(env or {}), "GRADER_DATABASE_URL": url,
                   "GRADER_INSTANCE_PATH": str(folder)}
    with (folder / "server.log").open("ab") as log:
        server = subprocess.Popen(command, cwd=ROOT, env=environment, stdout=log, stderr=log)
    try:
        base = f"http://127.0.0.1:{port}"
        wait_until_healthy(base)
        yield base
    finally:
        server.terminate()
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def drain(url: str, seconds: float = 10, settle: float = 0.0) -> bool:
    """Wait for the gradings a client cut off at its deadline to end: no job left unfinished
    (and, with ``settle``, no new submission stored for that long); whether that was reached."""
    engine = db.make_engine(url)
    deadline = time.monotonic() + seconds
    quiet_since, last_count = time.monotonic(), -1
    drained = False
    with engine.connect() as connection:
        while time.monotonic() < deadline:
            pending = connection.scalar(
                sa.select(sa.func.count(GradingJob.id)).where(GradingJob.state != "done")
            )
            count = connection.scalar(sa.select(sa.func.count(Submission.id))) if settle else 0
            connection.rollback()
            if count != last_count:
                quiet_since, last_count = time.monotonic(), count
            if not pending and time.monotonic() - quiet_since >= settle:
                drained = True
                break
            time.sleep(0.1)
    engine.dispose()
    return drained
