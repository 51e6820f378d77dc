"""A flood of result frames: what it costs the grader beyond a normal submission.

A function may write millions of tiny frames to the result pipe before it
returns. The grader reads the child's frames one at a time and stops at the
first malformed or surplus one, within ``Limits.max_reply_bytes``; this prints
what that costs the grading process, in CPU time and in peak memory (the RSS
high-water mark and Python's own allocations), for a correct ``softmax`` and for
the flood, graded one after the other on a warm pool of one daemon:

1. a whole run through the pool, the pipe from the daemon included;
2. ``read_result`` alone, on a body of 3.3 million frames cut at the byte limit.
"""

from __future__ import annotations

import resource
import struct
import sys
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import exercises
from grader.judge.functions import grade_function
from grader.judge.verdict import Verdict
from grader.sandbox import SandboxPool
from grader.sandbox.limits import Limits
from grader.sandbox.result import read_result

CORRECT = """
import numpy as np
def softmax(z):
    e = np.exp(z - z.max())
    return e / e.sum()
"""
FLOOD = """
import os, struct
FLOOD = struct.pack(">II", 2, 0) + b"{}"
def softmax(z):
    for fd in range(3, 64):  # whichever is the result pipe
        try:
            for _ in range(400):
                os.write(fd, FLOOD * 8192)
        except OSError:
            pass
    return z
"""
FRAMES = 3_300_000
DONE = {"stop": None, "exit_code": 0, "signal": None, "elapsed_ms": 1.0, "cpu_ms": 1.0}


def frame(header: bytes, body: bytes = b"") -> bytes:
    return struct.pack(">II", len(header), len(body)) + header + body


def cost(work: Callable[[], object]) -> tuple[float, float, float]:
    """CPU ms of this process, peak MB Python allocated, and the RSS high-water mark's rise in MB."""
    high_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    tracemalloc.start()
    started = time.process_time()
    work()
    cpu_ms = (time.process_time() - started) * 1000
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    high_rise = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - high_before
    return cpu_ms, peak / 1e6, high_rise / 1e3


def line(what: str, figures: tuple[float, float, float]) -> str:
    cpu_ms, peak_mb, rss_mb = figures
    return f"{what:34s} cpu {cpu_ms:8.1f} ms   python peak {peak_mb:6.1f} MB   rss rise {rss_mb:6.1f} MB"


def main() -> int:
    exercise = exercises.get("softmax")
    with SandboxPool(1) as pool:
        grade_function(exercise, CORRECT, None, seed=1, pool=pool)  # warm
        for name, source in (("correct", CORRECT), ("flood", FLOOD)):
            verdicts: list[Verdict] = []

            def grade_one(source: str = source, verdicts: list[Verdict] = verdicts) -> None:
                verdicts.append(grade_function(exercise, source, None, seed=1, pool=pool))

            figures = cost(grade_one)
            print(line(f"graded through the pool, {name}", figures), f"score {verdicts[0].score}")
    limits = Limits()
    normal = frame(b'{"status": "ok"}') + frame(b'{"status": "ok", "shape": [3]}', b"\0" * 24)
    flood = (frame(b'{"status": "ok"}') + frame(b"{}") * FRAMES)[: limits.max_reply_bytes]
    print(line("read_result, normal", cost(lambda: read_result(DONE, normal, 1, limits))))
    print(line(f"read_result, {FRAMES:,} frames", cost(lambda: read_result(DONE, flood, 1, limits))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
