"""The queue benchmark's floor: procrastinate alone, run as the benchmark is, from its script."""

from __future__ import annotations

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
