"""Function answers: latency and throughput of a whole hidden suite through the warm sandbox pool.

For a correct ``softmax_jacobian`` and ``layer_jacobian`` it prints p50 and p95
latency of ``grader.judge.functions.grade_function`` (one submission at a time, warm
pool) and submissions per second with concurrent callers, the same through the
service's ``POST /api/v1/check`` on a real ``grader serve``, beside the naive way
measured in the same run: a fresh bubblewrap'd Python importing numpy for every
submission, with the same root, namespaces and environment.

``measure`` (and the ``time_calls`` and ``throughput`` it is made of) is
importable, to time any callable the same way: the service's ``/api/v1/check``,
for instance, with ``measure(lambda: client.post(...), 300).line("HTTP")``.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from live import serving

import exercises
from grader.judge.compare import FUNCTION, agrees
from grader.judge.functions import build_cases, grade_function
from grader.sandbox import default_pool
from grader.sandbox.launch import daemon_command, daemon_environment

ROOT = Path(__file__).resolve().parents[1]
SUBMISSIONS = 300
NAIVE_SUBMISSIONS = 30
CONCURRENCY = 4
SOFTMAX = "import numpy as np\ndef _softmax(z):\n    e = np.exp(z - z.max())\n    return e / e.sum()\n"
SOURCES = {
    "softmax_jacobian": SOFTMAX
    + "def softmax_jacobian(z):\n    S = _softmax(z)\n    return np.diag(S) - np.outer(S, S)\n",
    "layer_jacobian": SOFTMAX
    + "def layer_jacobian(W, x):\n    S = _softmax(W.T @ x)\n"
    "    return np.kron(np.diag(S) - np.outer(S, S), x[None, :])\n",
}

# The naive runner: a fresh interpreter imports numpy, runs the suite, prints .npy-free floats.
NAIVE_RUNNER = """
import json, sys
sys.path.insert(0, sys.argv[1])
import numpy as np
request = json.load(sys.stdin)
namespace = {}
exec(compile(request["source"], "<submission>", "exec"), namespace)
function = namespace[request["function"]]
out = []
for call in request["calls"]:
    args = [np.array(a, dtype=np.float64) if isinstance(a, list) else a for a in call]
    value = np.asarray(function(*args), dtype=np.float64)
    out.append({"shape": list(value.shape), "data": value.ravel().tolist()})
sys.stdout.write(json.dumps(out))
"""


@dataclass(frozen=True)
class Timing:
    """Latencies of repeated calls, in milliseconds."""

    samples_ms: list[float]

    @property
    def p50(self) -> float:
        return statistics.median(self.samples_ms)

    @property
    def p95(self) -> float:
        ordered = sorted(self.samples_ms)
        return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]

    @property
    def per_second(self) -> float:
        return 1000.0 / statistics.fmean(self.samples_ms)


def time_calls(call: Callable[[], object], count: int, warmup: int = 3) -> Timing:
    """Call ``call`` ``count`` times one after the other and time each call."""
    for _ in range(warmup):
        call()
    samples = []
    for _ in range(count):
        started = time.perf_counter()
        call()
        samples.append((time.perf_counter() - started) * 1000)
    return Timing(samples)


def throughput(call: Callable[[], object], count: int, threads: int) -> float:
    """Calls per second with ``threads`` callers sharing ``count`` calls."""
    remaining = [count]
    lock = threading.Lock()

    def worker() -> None:
        while True:
            with lock:
                if remaining[0] == 0:
                    return
                remaining[0] -= 1
            call()

    workers = [threading.Thread(target=worker) for _ in range(threads)]
    started = time.perf_counter()
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return count / (time.perf_counter() - started)


@dataclass(frozen=True)
class Figures:
    """Latency one call at a time, and throughput with concurrent callers."""

    latency: Timing
    concurrent_per_second: float
    callers: int

    def line(self, label: str) -> str:
        t = self.latency
        return (
            f"  {label:10s}: p50 {t.p50:7.2f} ms  p95 {t.p95:7.2f} ms  {t.per_second:6.0f}/s one at "
            f"a time  {self.concurrent_per_second:6.0f}/s with {self.callers} callers"
        )


def measure(call: Callable[[], object], count: int, callers: int = CONCURRENCY) -> Figures:
    """The figures this benchmark prints, for any callable (a grading call, an HTTP request...)."""
    latency = time_calls(call, count)
    return Figures(latency, throughput(call, count, callers), callers)


def warm_grade(kind: str) -> Callable[[], object]:
    exercise = exercises.get(kind)
    seeds = iter(range(10**9))

    def call() -> object:
        verdict = grade_function(exercise, SOURCES[kind], None, seed=next(seeds))
        assert verdict.correct, verdict.feedback
        return verdict

    return call


def naive_grade(kind: str) -> Callable[[], object]:
    """The same suite and comparison, but a fresh sandboxed interpreter per submission."""
    exercise = exercises.get(kind)
    command = daemon_command(0)
    program_at = len(command) - command[::-1].index("-c")  # the interpreter's -c, the last one
    command[program_at] = NAIVE_RUNNER
    seeds = iter(range(10**9))

    def call() -> object:
        cases = build_cases(exercise, None, next(seeds))
        calls = [[_plain(v) for v in exercise.arguments(c.instance).values()] for c in cases]
        request = json.dumps({"source": SOURCES[kind], "function": kind, "calls": calls})
        done = subprocess.run(
            command, input=request.encode(), capture_output=True, env=daemon_environment(0),
            timeout=30, check=True,
        )  # fmt: skip
        results = json.loads(done.stdout)
        for case, result in zip(cases, results, strict=True):
            received = np.asarray(result["data"], dtype=np.float64).reshape(result["shape"])
            assert agrees(case.expected, received, FUNCTION)
        return results

    return call


def _plain(value: object) -> object:
    return value.tolist() if isinstance(value, np.ndarray) else value


@contextmanager
def served() -> Iterator[tuple[str, str]]:
    """``grader serve`` on a free port with a fresh database: its address and a student's token."""
    folder = Path(tempfile.mkdtemp(prefix="grader-bench-"))
    url = f"sqlite:///{folder / 'grader.sqlite'}"
    env = {
        **os.environ,
        "GRADER_DATABASE_URL": url,
        "GRADER_INSTANCE_PATH": str(folder),
        # one student sends every request here: the per-user limits would measure themselves
        "GRADER_SANDBOX_RUNS_PER_MINUTE": "1000000",
        "GRADER_SANDBOX_RUNS_AT_ONCE": "64",
    }
    grader = [sys.executable, "-m", "grader.cli"]
    subprocess.run([*grader, "db", "upgrade"], env=env, cwd=ROOT, check=True, capture_output=True)
    token = subprocess.run(
        [*grader, "user", "add", "bench", "--role", "student"],
        env=env, cwd=ROOT, check=True, capture_output=True, text=True,
    ).stdout.strip()  # fmt: skip
    with serving(url, folder, env=env) as base:
        yield base, token


def http_check(base: str, token: str, kind: str) -> Callable[[], object]:
    """``POST /api/v1/check`` of a correct function answer, hidden instances drawn by the service."""
    local = threading.local()
    body = {"instance": {"kind": kind}, "answer": SOURCES[kind], "format": "python"}

    def call() -> object:
        if not hasattr(local, "http"):
            local.http = requests.Session()
            local.http.headers["Authorization"] = f"Bearer {token}"
        response = local.http.post(f"{base}/api/v1/check", json=body, timeout=30)
        assert response.status_code == 200 and response.json()["correct"], response.text
        return response

    return call


def main() -> None:
    pool = default_pool()
    pool.warm()
    load = os.getloadavg()[0]
    print(f"{os.cpu_count()} cores, load average {load:.2f} at start, pool of {pool.size} daemons")
    with served() as (base, token):
        for kind in SOURCES:
            size = len(build_cases(exercises.get(kind), None, 0))
            warm = measure(warm_grade(kind), SUBMISSIONS)
            http = measure(http_check(base, token, kind), SUBMISSIONS)
            naive = measure(naive_grade(kind), NAIVE_SUBMISSIONS)
            print(f"{kind} (a whole suite of {size} instances per submission)")
            print(warm.line("warm pool"))
            print(http.line("HTTP check"))
            print(naive.line("naive"))
            print(
                f"  warm pool is {naive.latency.p50 / warm.latency.p50:.1f}x faster at p50, "
                f"{warm.concurrent_per_second / naive.concurrent_per_second:.1f}x in throughput"
            )


if __name__ == "__main__":
    main()
