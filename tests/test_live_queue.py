"""The deployment that scales, live: ``grader serve`` (gunicorn) and two ``grader worker``
processes on a throwaway PostgreSQL server; 200 mixed submissions from 16 threads, one
worker killed with SIGKILL midway. Every submission ends with one verdict, none is lost,
none is added by the kill, and nothing answers 5xx."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from tests.conftest import wait_for
from tests.test_live_server import (
    SUBMISSIONS,
    THREADS,
    Course,
    Server,
    answer_for,
    build_course,
    post,
    stored,
)
from tests.test_worker import Workers

pytestmark = pytest.mark.slow


@pytest.fixture
def course(postgres_url: str, tmp_path: Path) -> Course:
    return build_course(postgres_url, tmp_path)


@pytest.fixture
def deployment(tmp_path: Path, course: Course) -> Iterator[tuple[Server, Workers]]:
    server = Server(tmp_path, course.url)
    server.env.update({"GRADER_QUEUE": "procrastinate", "GRADER_SUBMIT_WAIT_SECONDS": "5"})
    workers = Workers(course.url, tmp_path)
    yield server, workers
    workers.stop()
    server.stop()


def test_200_submissions_two_workers_one_killed_midway(deployment, course: Course):
    server, workers = deployment
    server.start()
    first, _second = workers.start(concurrency=2), workers.start(concurrency=2)
    specs = [answer_for(course, n) for n in range(SUBMISSIONS)]
    with ThreadPoolExecutor(THREADS) as pool:
        futures = [pool.submit(post, server.base, spec) for spec in specs]
        assert wait_for(lambda: sum(job.state == "done" for _, job in stored(course.url)) >= 40, 120)
        os.kill(first.pid, signal.SIGKILL)
        responses = [future.result() for future in futures]

    assert {r.status_code for r in responses} <= {201, 202}, server.log.read_text()[-3000:]
    ids = [r.json()["id"] for r in responses]
    assert len(set(ids)) == SUBMISSIONS

    def all_graded() -> bool:
        return all(job.state == "done" for _, job in stored(course.url))

    assert wait_for(all_graded, 180), "not every submission was graded"
    rows = stored(course.url)
    assert sorted(s.id for s, _ in rows) == sorted(ids)  # none lost, none added by the kill
    assert all(s.verdict is not None and s.graded_at == job.finished_at for s, job in rows)
    later = [r.json() for r in responses if r.status_code == 202]
    for body in later:  # answered "grading": the verdict is there to GET now
        student = next(s for s in course.students if s.id == body["user_id"])
        got = requests.get(f"{server.base}/api/v1/submissions/{body['id']}", timeout=10,
                           headers={"Authorization": f"Bearer {student.token}"})
        assert (got.status_code, got.json()["status"]) == (200, "graded")
