"""Formula verdicts in process: read, evaluate on the whole suite, diagnose; p50 and p99.

Three formulas of each kind (grader.judge.grading.grade with format "formula"):
right ones are evaluated on the given instance and every hidden one; wrong ones are
diagnosed. Target on the 2-core machine: p50 <= 10 ms, p99 <= 50 ms, none over 1 s.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import exercises
from grader.judge.grading import grade

REPEATS = 60
TARGET_P50_MS, TARGET_P99_MS = 10.0, 50.0
FORMULAS = {
    "softmax": ["exp(z_i) / sum_k exp(z_k)", r"\frac{e^{z_i}}{\sum_{j=1}^K e^{z_j}}", "exp(z_i)"],
    "softmax_jacobian": ["S_i (δ_ij − S_j)", "diag(S) - S S^T", "z_i (delta_ij - z_j)"],
    "logits_weight_jacobian": ["delta_ki x_j", "kron(I, x^T)", "kron(x^T, I)"],
    "layer_jacobian": ["S_t (delta_ti - S_i) x_j", "kron(diag(S) - S S^T, x^T)", "S_t (delta_ti - S_i)"],
    "cross_entropy_logits_grad": ["S_i - y_i", r"\hat{y} - y", "S_i"],
    "cross_entropy_weight_grad": ["x_j (S_i - y_i)", "x (S - y)^T", "x_j S_i"],
    "jacobian_warmup": [
        "[[e^x1, e^x2], [e^x1 x2, e^x1], [4, 9 x2^2]]",
        r"\begin{bmatrix} e^{x_1} & e^{x_2} \\ e^{x_1} x_2 & e^{x_1} \\ 4 & 9 x_2^2 \end{bmatrix}",
        "[[e^x1, e^x2], [e^x1 x2, e^x1], [4, 3 x2^2]]",
    ],
}


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def main() -> int:
    everything: list[float] = []
    for kind, formulas in FORMULAS.items():
        exercise = exercises.get(kind)
        instance = exercise.draw(1)
        for formula in formulas:
            grade(instance, formula, "formula", seed=0)  # imports and caches outside the timing
            times = []
            for repeat in range(REPEATS):
                started = time.perf_counter()
                verdict = grade(instance, formula, "formula", seed=repeat)
                times.append((time.perf_counter() - started) * 1000)
            everything += times
            outcome = "right" if verdict.correct else ",".join(verdict.codes)
            print(
                f"{kind:26s} {formula[:44]:44s} {outcome:22s} "
                f"p50 {statistics.median(times):6.2f} ms  p99 {percentile(times, 0.99):6.2f} ms"
            )
    p50, p99, worst = statistics.median(everything), percentile(everything, 0.99), max(everything)
    print(f"{'all formulas':26s} p50 {p50:.2f} ms, p99 {p99:.2f} ms, max {worst:.2f} ms "
          f"(target p50 <= {TARGET_P50_MS:g} ms, p99 <= {TARGET_P99_MS:g} ms)")
    return 0 if p50 <= TARGET_P50_MS and p99 <= TARGET_P99_MS and worst < 1000 else 1


if __name__ == "__main__":
    sys.exit(main())
