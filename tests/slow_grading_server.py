"""``grader serve`` whose grading takes a while, so that a test can kill it mid-grading.

Usage: python tests/slow_grading_server.py SECONDS PORT [WORKERS]
"""

from __future__ import annotations

import sys
import time

from grader import server
from grader.judge.verdict import Verdict
from grader.service import jobs

_grade = jobs.grade


def slow_grade(held: jobs.Lease) -> Verdict:
    time.sleep(float(sys.argv[1]))
    return _grade(held)


if __name__ == "__main__":
    jobs.grade = slow_grade  # before gunicorn forks its workers: they inherit it
    workers = int(sys.argv[3]) if len(sys.argv) > 3 else 1
    server.serve(host="127.0.0.1", port=int(sys.argv[2]), demo=False, threads=8, workers=workers)
