"""``grader worker`` with the grading itself replaced by a fixed verdict, as the queue benchmark
starts it (``bench_queue.queue_overhead``): what such a worker and PostgreSQL spend per answer
is what the queue and the worker's own steps cost, whatever the answer.

    python benchmarks/instant_worker.py [grader worker's options]
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench_queue import FUNCTION_SOURCE

from grader.cli import main
from grader.judge.grading import grade
from grader.service import jobs

# a function answer's verdict, of the size a worker stores
VERDICT = grade({"kind": "softmax_jacobian", "z": [0.1, 0.2, 0.3, 0.4]}, FUNCTION_SOURCE, "python", seed=1)

if __name__ == "__main__":
    jobs.grade = lambda held: VERDICT
    sys.exit(main(["worker", *sys.argv[1:]]))
