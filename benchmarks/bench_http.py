"""Stored, graded matrix submissions per second through HTTP, beside a trivial endpoint.

Starts ``grader serve`` (gunicorn, SQLite; its default processes, or
BENCH_SERVER_WORKERS) on a free port with a course of students, then alternates
timed rounds of ``GET /healthz`` (the trivial endpoint: one ``SELECT 1``) and
``POST /api/v1/submissions`` (a 5 x 15 layer Jacobian as JSON, right or
transposed: authenticated, checked against the attempt and rate rules, stored
with its grading job, graded, its verdict stored, answered), from the same
client with keep-alive connections, in the same run. Target: at least half the
trivial endpoint's rate.

Two clients, one after the other: Python (requests, one thread per connection)
and, where it is installed, wrk (C). The client runs on the same machine and
shares its cores with the server: the Python client costs about as much CPU per
request as the trivial endpoint does, so its trivial rate is partly the
client's own limit; wrk's rates are nearer to the server's.

The load is a class: BENCH_STUDENTS students (2000), each with their own token
and instance, taken in turn, so that each submits well under the per-user rate
limit, which stays at its default (30 a minute; a refusal would count as a
failure). Lifting the limit for a few students instead would make every
submission's rate check read all of that student's last minute: thousands of
rows that no real student has.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import requests
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from live import drain, prepare_class, serving

from grader.service import db
from grader.service.models import GradingJob, Item, Submission

CLIENT_THREADS = int(os.environ.get("BENCH_CLIENT_THREADS", "8"))
SERVER_THREADS = int(os.environ.get("BENCH_SERVER_THREADS", "8"))
SERVER_WORKERS = os.environ.get("BENCH_SERVER_WORKERS")  # unset: grader serve's default
STUDENTS = int(os.environ.get("BENCH_STUDENTS", "2000"))
ROUNDS = 5  # alternating, so that other load on the machine weighs on both alike
SECONDS_PER_ROUND = float(os.environ.get("BENCH_SECONDS", "3"))


def prepare(url: str) -> list[tuple[str, int, list[str]]]:
    """A course, one layer_jacobian item; per student: token, item id, right and wrong answers."""
    (item_id,), people = prepare_class(url, [Item(kind="layer_jacobian", n=3, K=5)], STUDENTS)
    return [
        (token, item_id, [json.dumps(reference.tolist()), json.dumps(reference.T.tolist())])
        for token, (reference,) in people
    ]


# the students take turns across the threads and the rounds: none goes over the rate limit
TURNS = itertools.count()


@dataclass(frozen=True)
class Round:
    """One timed round: its rate, its failures, and its requests' latencies (p50, p95) in ms."""

    per_second: float
    failures: int
    p50_ms: float
    p95_ms: float


def rate(call: Callable[[requests.Session, int], int], seconds: float) -> Round:
    """Requests per second from CLIENT_THREADS keep-alive clients, failures and latencies."""
    counts = [0] * CLIENT_THREADS
    failures = [0] * CLIENT_THREADS
    latencies: list[list[float]] = [[] for _ in range(CLIENT_THREADS)]
    start = threading.Barrier(CLIENT_THREADS + 1)
    stop = threading.Event()

    def client(index: int) -> None:
        with requests.Session() as http:
            call(http, next(TURNS))  # connect outside the timing
            start.wait()
            while not stop.is_set():
                sent = time.perf_counter()
                status = call(http, next(TURNS))
                latencies[index].append(time.perf_counter() - sent)
                counts[index] += 1
                failures[index] += status >= 400

    threads = [threading.Thread(target=client, args=(i,)) for i in range(CLIENT_THREADS)]
    for thread in threads:
        thread.start()
    start.wait()
    began = time.perf_counter()
    time.sleep(seconds)
    stop.set()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    p50, p95 = percentiles([t for own in latencies for t in own])
    return Round(sum(counts) / elapsed, sum(failures), p50, p95)


def percentiles(latencies: list[float]) -> tuple[float, float]:
    """The p50 and p95 of ``latencies``, in milliseconds."""
    if len(latencies) < 2:
        only = latencies[0] * 1000 if latencies else float("nan")
        return only, only
    cuts = statistics.quantiles(latencies, n=100, method="inclusive")
    return cuts[49] * 1000, cuts[94] * 1000


WRK_SCRIPT = """
local people = {%s}
local i = 0
local threads = 0
function setup(thread)
  thread:set("number", threads)
  threads = threads + 1
end
-- each thread from its own place, after where the last round ended (wrk ... -- OFFSET)
function init(args)
  i = (tonumber(args[1] or "0") + number * math.floor(#people / 2)) %% #people
end
request = function()
  i = i %% #people + 1
  local person = people[i]
  return wrk.format("POST", "/api/v1/submissions",
    {["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. person[1]}, person[2])
end
"""
# wrk's latencies are in microseconds; its own report has no 95th percentile
WRK_PERCENTILES = """
done = function(summary, latency, requests)
  io.write(string.format("p50 %d p95 %d\\n", latency:percentile(50), latency:percentile(95)))
end
"""


def wrk_rate(
    base: str, path: str, seconds: float, script: Path, turns: list[int] | None = None
) -> Round:
    """Requests per second from wrk (C, 2 threads, CLIENT_THREADS connections), failures, latencies.

    With ``turns``, the script's threads go on from there (it is moved on).
    """
    command = ["wrk", "-t2", f"-c{CLIENT_THREADS}", f"-d{seconds:.0f}s", "-s", str(script),
               f"{base}{path}", "--", str(turns[0] if turns else 0)]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    if turns:
        turns[0] += int(re.search(r"(\d+) requests in", out).group(1)) // 2  # per thread
    per_second = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    failures = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: .*?(\d+), write (\d+), timeout (\d+)", out)
    failed = int(failures.group(1)) if failures else 0
    failed += sum(int(n) for n in errors.groups()) if errors else 0
    p50, p95 = (int(n) / 1000 for n in re.search(r"p50 (\d+) p95 (\d+)", out).groups())
    return Round(per_second, failed, p50, p95)


def report(client: str, trivial: list[Round], submit: list[Round]) -> None:
    trivial_rates = [r.per_second for r in trivial]
    submit_rates = [r.per_second for r in submit]
    trivial_median = statistics.median(trivial_rates)
    submit_median = statistics.median(submit_rates)

    def latency(rounds: list[Round]) -> str:
        p50 = statistics.median(r.p50_ms for r in rounds)
        p95 = statistics.median(r.p95_ms for r in rounds)
        return f"p50 {p50:6.1f} ms  p95 {p95:6.1f} ms"

    print(f"-- client: {client}")
    print(f"GET /healthz (trivial)           median {trivial_median:7.0f} req/s           "
          f"{latency(trivial)}  (rounds: {', '.join(f'{r:.0f}' for r in trivial_rates)})")
    print(f"POST /api/v1/submissions (5x15)  median {submit_median:7.0f} graded+stored/s  "
          f"{latency(submit)}  (rounds: {', '.join(f'{r:.0f}' for r in submit_rates)})")
    # each round's pair ran back to back: its ratio is the least disturbed by other load
    pairs = [sub / triv for sub, triv in zip(submit_rates, trivial_rates, strict=True)]
    print(f"ratio submissions / trivial: {submit_median / trivial_median:.2f} of the medians, "
          f"{statistics.median(pairs):.2f} median of the rounds' "
          f"({', '.join(f'{r:.2f}' for r in pairs)}); target >= 0.50")


def main() -> None:
    folder = Path(tempfile.mkdtemp(prefix="grader-bench-"))
    # an empty database of one's own, e.g. postgresql+psycopg://user@/bench?host=/tmp/pgsock
    url = os.environ.get("BENCH_DATABASE_URL") or f"sqlite:///{folder / 'grader.sqlite'}"
    people = prepare(url)
    options = ["--threads", str(SERVER_THREADS)]
    if SERVER_WORKERS:
        options += ["--workers", SERVER_WORKERS]
    script = folder / "submit.lua"
    bodies = [
        (token, json.dumps({"item_id": item_id, "answer": answer, "format": "json"}))
        for token, item_id, answers in people
        for answer in answers
    ]
    # Lua reads JSON's strings as its own: both quote with " and escape with \\
    script.write_text(WRK_SCRIPT % ", ".join(
        f"{{{json.dumps(token)}, {json.dumps(body)}}}" for token, body in bodies
    ) + WRK_PERCENTILES)
    percentiles_only = folder / "percentiles.lua"
    percentiles_only.write_text(WRK_PERCENTILES)
    results: dict[str, tuple[list[Round], list[Round]]] = {}
    failed = 0
    with serving(url, folder, *options) as base:

        def trivial(http: requests.Session, n: int) -> int:
            return http.get(f"{base}/healthz", timeout=30).status_code

        def submit(http: requests.Session, n: int) -> int:
            token, item_id, answers = people[n % STUDENTS]
            right_or_transposed = answers[n // STUDENTS % 2]
            response = http.post(
                f"{base}/api/v1/submissions",
                json={"item_id": item_id, "answer": right_or_transposed, "format": "json"},
                headers={"Authorization": f"Bearer {token}"},
                timeout=30,
            )
            return response.status_code

        clients = {
            f"python requests, {CLIENT_THREADS} threads": (
                lambda: rate(trivial, SECONDS_PER_ROUND), lambda: rate(submit, SECONDS_PER_ROUND)
            )
        }
        turns = [0]
        if shutil.which("wrk"):  # a client in C: its own cost weighs less on the shared cores
            clients[f"wrk, 2 threads, {CLIENT_THREADS} connections"] = (
                lambda: wrk_rate(base, "/healthz", SECONDS_PER_ROUND, percentiles_only),
                lambda: wrk_rate(base, "/api/v1/submissions", SECONDS_PER_ROUND, script, turns),
            )
        for client, (trivial_round, submit_round) in clients.items():
            trivial_rounds, submit_rounds = results.setdefault(client, ([], []))
            for _ in range(ROUNDS):
                for rounds, one_round in ((trivial_rounds, trivial_round), (submit_rounds, submit_round)):
                    measured = one_round()
                    rounds.append(measured)
                    failed += measured.failures
        drain(url)

    engine = db.make_engine(url)
    with engine.connect() as connection:
        stored = connection.scalar(sa.select(sa.func.count(Submission.id)))
        graded = connection.scalar(
            sa.select(sa.func.count(GradingJob.id)).where(GradingJob.state == "done")
        )
    engine.dispose()

    workers = SERVER_WORKERS or "grader serve's default"
    print(f"server: {workers} processes of {SERVER_THREADS} threads; {ROUNDS} rounds of "
          f"{SECONDS_PER_ROUND:.0f} s each, alternating")
    for client, (trivial_rounds, submit_rounds) in results.items():
        report(client, trivial_rounds, submit_rounds)
    print(f"stored {stored} submissions, {graded} graded, {failed} failed requests")


if __name__ == "__main__":
    main()
