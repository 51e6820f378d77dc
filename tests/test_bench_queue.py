"""The queue benchmark, run from its script: procrastinate's floor, and the queue's own cost."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.postgres import binaries

pytestmark = pytest.mark.slow
SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_queue.py"


@pytest.mark.skipif(binaries() is None, reason="PostgreSQL is not installed (`make system-deps`)")
def test_the_floor_runs_its_app_from_a_module_of_its_own():
    """procrastinate warns of an app made in the main module (the script): the floor's app and
    task live in a module the script imports, as procrastinate's documentation asks."""
    done = subprocess.run([sys.executable, str(SCRIPT), "--floor-only", "--backlog", "20"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "20 tasks that do nothing" in done.stdout
    assert "main Python module" not in done.stdout + done.stderr


@pytest.mark.skipif(binaries() is None, reason="PostgreSQL is not installed (`make system-deps`)")
def test_the_queues_own_cost_is_measured_on_a_worker_that_grades_instantly():
    """Every answer is graded by the instant worker (else the run would not end), and the CPU
    per answer it reports is the worker's, PostgreSQL's and the machine's, each above nothing."""
    done = subprocess.run([sys.executable, str(SCRIPT), "--overhead-only", "--backlog", "60"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    found = re.search(r"the worker ([\d.]+) ms of CPU, PostgreSQL ([\d.]+) ms, the machine ([\d.]+) ms",
                      done.stdout)
    assert found, done.stdout
    worker, database, machine = map(float, found.groups())
    assert 0 < worker <= machine and 0 < database <= machine
