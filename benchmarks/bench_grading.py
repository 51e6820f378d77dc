"""Verdicts per second for a pasted 5 x 15 layer Jacobian in numpy print format, in process.

Each verdict parses the text, compares it and diagnoses it (grader.judge.grading.grade).
Prints the median of several runs, for a right answer and for a transposed one.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from exercises import get
from grader.judge.answers import read_answer
from grader.judge.grading import grade
from tests.articles import LAYER_DL_PRINT, layer_instance

RUNS = 7
SECONDS_PER_RUN = 1.0


def verdicts_per_second(instance: dict, answer: str, fmt: str) -> float:
    count = 0
    started = time.perf_counter()
    while (elapsed := time.perf_counter() - started) < SECONDS_PER_RUN:
        for _ in range(50):
            grade(instance, answer, fmt)
        count += 50
    return count / elapsed


def main() -> None:
    instance = layer_instance("layer_jacobian")
    wrong = np.array2string(get("layer_jacobian").reference(instance).T, precision=5)
    grade(instance, LAYER_DL_PRINT, "text")  # imports and caches outside the timing
    cases = {"right answer (article print)": LAYER_DL_PRINT, "transposed answer": wrong}
    parse_times = []
    for _ in range(RUNS):
        started = time.perf_counter()
        for _ in range(1000):
            read_answer(LAYER_DL_PRINT, "text")
        parse_times.append((time.perf_counter() - started) / 1000)
    print(f"{'parsing the 5 x 15 print alone':32s} median {statistics.median(parse_times) * 1e6:8.1f} us")
    for name, answer in cases.items():
        rates = [verdicts_per_second(instance, answer, "text") for _ in range(RUNS)]
        median = statistics.median(rates)
        print(
            f"{name:32s} median {median:8.0f} verdicts/s  "
            f"({1e6 / median:6.1f} us each; runs: {', '.join(f'{r:.0f}' for r in rates)})"
        )


if __name__ == "__main__":
    main()
