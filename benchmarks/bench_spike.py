"""A deadline spike: a class submitting at a fixed rate, and each answer's time to its verdict.

A class of BENCH_STUDENTS students (2000), each with their own API token and their own
instance of two items: a 3 x 5 layer Jacobian answered as a matrix (JSON, their own
right answer) and a softmax Jacobian answered as a Python function (run in the sandbox
on the hidden instances); 70% matrix and 30% function answers, by a fixed interleave,
the students in turn (none near the limit of 30 submissions a minute). Three
deployments, as a newcomer starts them, each on a fresh database:

- ``sqlite``: ``grader serve`` on SQLite, its default processes and threads;
- ``pg1``: PostgreSQL (a throwaway server, as the tests start it) with
  ``GRADER_QUEUE=procrastinate``: ``grader serve`` and one ``grader worker``, its
  default concurrency and sandbox slots;
- ``pg2``: the same with two workers.

The load is open: arrivals at a fixed rate for ``--seconds`` (BENCH_SPIKE_SECONDS, 10),
the i-th at t0 + i / rate whatever became of the earlier ones, handed to a pool of
sender threads (each with its own keep-alive connection, not reused after a second
idle: the server may be closing it). Time to verdict is counted from the arrival's
scheduled time, so a slow server is not hidden by a client that waits for it: to a
201's response, or after a 202 (the verdict not there within the POST's wait) to the
first ``GET /api/v1/submissions/ID`` that has it, polled every 50 ms (``--poll``; the
pages ask after 0.5 s, then twice as long each time, up to 5 s). An answer not
graded right within ``--timeout`` (30 s), any 4xx or 5xx, or a connection refused or
reset, is a failure. A rate is held when no answer failed and p95 <= 1 s; the rates
are stepped up until one is not held (100/s, the summary's, is run even past it), then
bisected between the last held and the first not held. Between steps the server is
left to finish every grading.

Each step's line: arrivals sent, answers graded, verdicts a second, p50/p95/p99 of
all and p95 of each form, the server's own grading time (median, matrix/function),
answers that came back 202 (``later``), the client's longest delay in sending (``lag``:
every sender thread busy), the 1-minute load average and, on a virtual machine, the
share of the CPU time its host took (``steal``): other work on the machine or on its
host weighs on the figures. Under it, the CPU time per graded answer of each part
(web, workers, sandbox, PostgreSQL, this client), which other work does not change:
it says what a rate costs.

Target on the 2-core machine of the issue: the SQLite default holds 100 submissions/s
with p95 <= 100 ms. The client runs on the same machine and shares its cores.

    .venv/bin/python benchmarks/bench_spike.py [--seconds 10] [--deployments sqlite,pg1,pg2]
        [--rates 25,50,100] [--bisections 3]
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import re
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import requests
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench_queue import FUNCTION_SOURCE, start_workers, stop
from live import cpu_ticks, drain, prepare_class, serving

from grader.service.models import Item
from grader.service.remote.database import queue_status
from tests.postgres import PostgresServer, binaries

STUDENTS = int(os.environ.get("BENCH_STUDENTS", "2000"))
SECONDS = float(os.environ.get("BENCH_SPIKE_SECONDS", "10"))
LADDER = (25, 50, 100, 150, 200, 300, 400, 600)
REPORTED_RATE = 100  # the summary's latencies are at this rate
HELD_P95_MS = 1000.0
TARGET_P95_MS = 100.0  # the SQLite default's, at REPORTED_RATE
SENDERS = 256
POLL_SECONDS = 0.05
# gunicorn closes a connection idle for 2 s (its keepalive): a request sent on it just then
# is reset, which a browser would send again. A connection idle this long is not reused.
REUSE_SECONDS = 1.0
FUNCTION_TENTHS = 3  # of every 10 answers, function answers
DEPLOYMENTS = {
    "sqlite": "SQLite, grader serve (default processes and threads)",
    "pg1": "PostgreSQL + procrastinate, grader serve + 1 worker",
    "pg2": "PostgreSQL + procrastinate, grader serve + 2 workers",
}
LOG_TROUBLE = re.compile(r"Traceback|ERROR|CRITICAL|WORKER TIMEOUT|status: Error")


@dataclass(frozen=True)
class Target:
    """A deployment being served: its address, its database, the class and its logs."""

    name: str
    base: str
    url: str
    items: tuple[int, int]  # the matrix item, the function item
    people: list[tuple[str, str]]  # per student: token, right matrix answer as JSON
    logs: list[Path]
    postmaster: int | None = None  # PostgreSQL's server process, for its CPU time


@dataclass
class Step:
    """One rate's arrivals, what became of them, and their times to verdict."""

    rate: float
    seconds: float
    sent: int = 0
    accepted_later: int = 0  # 202s, and 201s still pending: polled for the verdict
    polls: int = 0  # GETs of those
    failures: Counter[str] = field(default_factory=Counter)
    examples: dict[str, str] = field(default_factory=dict)  # per kind of failure, its first
    latencies: list[float] = field(default_factory=list)  # s, every verdict
    by_form: dict[str, list[float]] = field(default_factory=lambda: {"matrix": [], "function": []})
    grading_ms: dict[str, list[float]] = field(default_factory=lambda: {"matrix": [], "function": []})
    send_lag: list[float] = field(default_factory=list)  # s, from scheduled time to sending
    last_verdict: float = 0.0  # s after t0
    steal: float | None = None  # the share of the machine's CPU time its hypervisor took
    cpu: dict[str, float] = field(default_factory=dict)  # CPU s of each part during the step

    @property
    def failed(self) -> int:
        return sum(self.failures.values())

    @property
    def held(self) -> bool:
        return self.failed == 0 and bool(self.latencies) and self.p(95) <= HELD_P95_MS

    def p(self, q: int, samples: list[float] | None = None) -> float:
        """The q-th percentile in ms of ``samples`` (every verdict's time by default)."""
        samples = self.latencies if samples is None else samples
        if not samples:
            return float("nan")
        if len(samples) == 1:
            return samples[0] * 1000
        return statistics.quantiles(samples, n=100, method="inclusive")[q - 1] * 1000

    @property
    def achieved(self) -> float:
        """Verdicts a second, from the first arrival to the last verdict."""
        return len(self.latencies) / self.last_verdict if self.last_verdict else 0.0

    def cpu_line(self) -> str:
        """CPU time per graded answer of each part, in ms; the server's gradings that a
        failure left running are counted too."""
        graded = len(self.latencies)
        if not self.cpu or not graded:
            return ""
        parts = ", ".join(f"{part} {used / graded * 1000:.1f}" for part, used in self.cpu.items() if used)
        polled = f"; {self.polls} GETs polled for {self.accepted_later} answers" if self.polls else ""
        return f"        CPU ms per graded answer: {parts}{polled}"

    def line(self) -> str:
        median = statistics.median
        grading = "/".join(f"{median(v):.0f}" if v else "-" for v in self.grading_ms.values())
        failures = ", ".join(f"{n} {why}" for why, n in self.failures.most_common()) or "0"
        return (
            f"{self.rate:6.0f}/s {self.sent:6d} {len(self.latencies):6d} {self.achieved:7.1f}/s "
            f"{self.p(50):8.0f} {self.p(95):8.0f} {self.p(99):8.0f}   "
            f"{self.p(95, self.by_form['matrix']):7.0f} {self.p(95, self.by_form['function']):7.0f}  "
            f"{grading:>9}  {self.accepted_later:5d} {max(self.send_lag, default=0) * 1000:7.0f}  "
            f"{os.getloadavg()[0]:5.1f} {'-' if self.steal is None else f'{self.steal:.0%}':>5}  "
            f"{'held' if self.held else 'NOT held':8}  failures: {failures}"
        )


HEADER = (
    "   rate    sent  graded  achieved   p50 ms   p95 ms   p99 ms   p95 ms by form  grading"
    "  later  lag ms  load steal\n"
    "                                                             matrix function  ms m/f"
    "         max     1 min"
)


def cpu_times() -> tuple[int, int] | None:
    """The machine's CPU time stolen by its hypervisor, and its CPU time in all (Linux, in
    ticks): on a virtual machine, what other machines on the host take shows there."""
    try:
        ticks = cpu_ticks()
    except (OSError, ValueError):
        return None
    return (ticks[7] if len(ticks) > 7 else 0), sum(ticks[:8])


def cpu_of_parts(postmaster: int | None) -> dict[str, float]:
    """CPU seconds so far of this benchmark's parts (Linux): ``web`` (``grader serve``'s
    processes), ``workers`` (``grader worker``s), ``sandbox`` (the sandbox daemons of either
    and the children they ran), ``postgres`` (the server and its backends), ``client`` (this
    process); a process's children that ended count in it."""
    processes: dict[int, tuple[int, float, str]] = {}  # pid: parent, CPU s, command line
    tick = os.sysconf("SC_CLK_TCK")
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:  # ended meanwhile
            continue
        fields = stat[stat.rindex(")") + 2:].split()  # the name, in brackets, may hold spaces
        # utime, stime, and those of the children it waited for
        processes[int(entry.name)] = (int(fields[1]), sum(int(n) for n in fields[11:15]) / tick, command)
    children: dict[int, list[int]] = {}
    for pid, (parent, _, _) in processes.items():
        children.setdefault(parent, []).append(pid)

    def tree(root: int, part: str) -> None:
        """Add the CPU time of ``root`` and its descendants to ``part``, sandboxes apart."""
        stack = [root]
        while stack:
            pid = stack.pop()
            if pid in processes:
                _, used, command = processes[pid]
                parts[part if "-m grader.cli" in command or part == "postgres" else "sandbox"] += used
            stack.extend(children.get(pid, []))

    own = os.times()
    parts = dict.fromkeys(("web", "workers", "sandbox", "postgres"), 0.0)
    for pid in children.get(os.getpid(), []):
        tree(pid, "workers" if "grader.cli worker" in processes[pid][2] else "web")
    if postmaster is not None:
        tree(postmaster, "postgres")
    parts["client"] = own.user + own.system
    return parts


class Spike:
    """Sends one deployment's arrivals; the students take turns across the steps."""

    def __init__(self, target: Target, senders: int, timeout: float, poll: float = POLL_SECONDS) -> None:
        self.target = target
        self.senders = senders
        self.timeout = timeout
        self.poll = poll
        self.turn = 0

    def answer(self, turn: int) -> tuple[str, dict[str, object]]:
        """The ``turn``-th answer: whose, and its body; 30% function answers, every student's
        own turns interleaved alike (turn // students shifts the pattern each round)."""
        people = self.target.people
        token, matrix = people[turn % len(people)]
        matrix_item, function_item = self.target.items
        if (turn + turn // len(people)) % 10 < FUNCTION_TENTHS:
            return token, {"item_id": function_item, "answer": FUNCTION_SOURCE, "format": "python"}
        return token, {"item_id": matrix_item, "answer": matrix, "format": "json"}

    def run(self, rate: float, seconds: float) -> Step:
        """``rate`` arrivals a second for ``seconds``, each waited for until its verdict."""
        step = Step(rate, seconds)
        cpu_before = cpu_times()
        parts_before = cpu_of_parts(self.target.postmaster)
        count = max(1, round(rate * seconds))
        first_turn, self.turn = self.turn, self.turn + count
        lock = threading.Lock()
        idle: queue.LifoQueue[queue.SimpleQueue[tuple[int, float] | None]] = queue.LifoQueue()
        t0 = time.perf_counter() + 0.5  # the senders started first

        def sender() -> None:
            inbox: queue.SimpleQueue[tuple[int, float] | None] = queue.SimpleQueue()
            with requests.Session() as http:
                while True:
                    idle.put(inbox)  # the most recently idle sends next: its connection is warm
                    since = time.perf_counter()
                    arrival = inbox.get()
                    if arrival is None:
                        return
                    if time.perf_counter() - since > REUSE_SECONDS:
                        http.close()  # its connection, which the server may be closing: a new one
                    self.send(http, step, lock, first_turn + arrival[0], arrival[1], t0)

        threads = [threading.Thread(target=sender, daemon=True) for _ in range(self.senders)]
        for thread in threads:
            thread.start()
        for n in range(count):
            scheduled = t0 + n / rate
            wait = scheduled - time.perf_counter()
            if wait > 0:
                time.sleep(wait)
            idle.get().put((n, scheduled))  # waits for a free sender when all are busy
        for _ in threads:
            idle.get().put(None)
        for thread in threads:
            thread.join()
        cpu_after = cpu_times()
        parts_after = cpu_of_parts(self.target.postmaster)
        step.cpu = {part: parts_after[part] - parts_before.get(part, 0.0) for part in parts_after}
        if cpu_before and cpu_after and cpu_after[1] > cpu_before[1]:
            step.steal = (cpu_after[0] - cpu_before[0]) / (cpu_after[1] - cpu_before[1])
        return step

    def send(self, http: requests.Session, step: Step, lock: threading.Lock, turn: int,
             scheduled: float, t0: float) -> None:
        token, body = self.answer(turn)
        form = "function" if body["format"] == "python" else "matrix"
        headers = {"Authorization": f"Bearer {token}"}
        deadline = scheduled + self.timeout
        now = time.perf_counter()
        with lock:
            step.sent += 1
            step.send_lag.append(now - scheduled)
        outcome, detail = None, ""
        try:
            if now >= deadline:
                raise requests.Timeout
            response = http.post(f"{self.target.base}/api/v1/submissions", json=body,
                                 headers=headers, timeout=deadline - now)
            if response.status_code not in (201, 202):
                outcome, detail = f"HTTP {response.status_code}", response.text[:200]
            else:
                seen = response.json()
                if seen["status"] in ("pending", "grading"):
                    with lock:
                        step.accepted_later += 1
                    url = f"{self.target.base}/api/v1/submissions/{seen['id']}"
                    while seen["status"] in ("pending", "grading"):
                        time.sleep(self.poll)
                        left = deadline - time.perf_counter()
                        if left <= 0:
                            raise requests.Timeout
                        polled = http.get(url, headers=headers, timeout=left)
                        with lock:
                            step.polls += 1
                        if polled.status_code != 200:
                            outcome, detail = f"HTTP {polled.status_code} on GET", polled.text[:200]
                            break
                        seen = polled.json()
                if outcome is None and seen["status"] != "graded":
                    outcome = f"status {seen['status']}"
                elif outcome is None and not seen["correct"]:
                    outcome = f"graded wrong ({','.join(seen['codes'] or [])})"
        except requests.Timeout:
            outcome = "timeout"
        except Exception as error:  # refused, reset, an unreadable answer: counted, not raised
            outcome, detail = type(error).__name__, str(error)[:200]
        done = time.perf_counter()
        with lock:
            if outcome is not None:
                step.failures[outcome] += 1
                step.examples.setdefault(outcome, detail)
                return
            step.latencies.append(done - scheduled)
            step.by_form[form].append(done - scheduled)
            if seen.get("grading_ms") is not None:
                step.grading_ms[form].append(seen["grading_ms"])
            step.last_verdict = max(step.last_verdict, done - t0)


# ---- the deployments ---------------------------------------------------------------


def prepare(url: str, students: int) -> tuple[tuple[int, int], list[tuple[str, str]]]:
    """The class on a fresh database: the two items' ids, and per student token and right
    matrix answer (JSON)."""
    items = [Item(kind="layer_jacobian", n=3, K=5), Item(kind="softmax_jacobian", K=4)]
    (matrix_item, function_item), people = prepare_class(url, items, students)
    answers = [(token, json.dumps(matrix.tolist())) for token, (matrix, _function) in people]
    return (matrix_item, function_item), answers


@contextmanager
def sqlite_deployment(folder: Path, students: int) -> Iterator[Target]:
    url = f"sqlite:///{folder / 'grader.sqlite'}"
    items, people = prepare(url, students)
    with serving(url, folder) as base:
        yield Target("sqlite", base, url, items, people, [folder / "server.log"])


@contextmanager
def postgres_deployment(server: PostgresServer, name: str, workers: int, folder: Path,
                        students: int) -> Iterator[Target]:
    server.admin(f"CREATE DATABASE {name}")
    url = server.url(name)
    items, people = prepare(url, students)
    logs = [folder / "server.log", *(folder / f"worker{n}.log" for n in range(workers))]
    with serving(url, folder, env={"GRADER_QUEUE": "procrastinate"}) as base:
        running = start_workers(url, folder, workers)  # their default concurrency and slots
        try:
            wait_for_workers(url, workers)
            postmaster = int((server.data / "postmaster.pid").read_text().split()[0])
            yield Target(name, base, url, items, people, logs, postmaster)
        finally:
            stop(running)


def wait_for_workers(url: str, count: int, seconds: float = 60) -> None:
    """Until ``count`` workers have sent a heartbeat (``grader queue status``'s live workers)."""
    engine = sa.create_engine(url, poolclass=sa.NullPool)
    deadline = time.monotonic() + seconds
    try:
        while time.monotonic() < deadline:
            with engine.connect() as connection:
                if queue_status(connection, 30).live_workers >= count:
                    return
            time.sleep(0.2)
    finally:
        engine.dispose()
    raise RuntimeError(f"fewer than {count} workers came up in {seconds:.0f} s")


# ---- the search for the highest rate held ------------------------------------------


@dataclass
class Outcome:
    """One deployment's steps, in the order run, and what they say."""

    name: str
    steps: list[Step] = field(default_factory=list)
    warm_up: Step | None = None
    error: str | None = None
    log_lines: dict[str, int] = field(default_factory=dict)

    def highest_held(self) -> tuple[float | None, bool]:
        """The highest rate held, and whether a higher one was run and not held."""
        held = [s.rate for s in self.steps if s.held]
        best = max(held, default=None)
        return best, any(not s.held and (best is None or s.rate > best) for s in self.steps)

    def at(self, rate: float) -> Step | None:
        return next((s for s in self.steps if s.rate == rate), None)


def search(spike: Spike, outcome: Outcome, url: str, ladder: list[float], seconds: float,
           bisections: int) -> None:
    """Step up the ladder until a rate is not held, then bisect below it."""

    def run(rate: float) -> Step:
        step = spike.run(rate, seconds)
        outcome.steps.append(step)
        print(step.line(), flush=True)
        if step.cpu_line():
            print(step.cpu_line(), flush=True)
        for kind, example in step.examples.items():
            print(f"        first {kind}: {example}", flush=True)
        if not drain(url, seconds=120, settle=1.0):
            print("        (the server had gradings unfinished 120 s after the step)", flush=True)
        return step

    low, high = 0.0, None
    for rate in ladder:
        if run(rate).held:
            low = rate
        else:
            high = rate
            break
    if REPORTED_RATE in ladder and outcome.at(REPORTED_RATE) is None:
        run(REPORTED_RATE)  # the summary's figures, even past the first rate not held
    for _ in range(bisections):
        if high is None or high - low <= max(5.0, 0.1 * low):
            break
        middle = float(round((low + high) / 2))
        if run(middle).held:
            low = middle
        else:
            high = middle


def trouble_in_logs(logs: list[Path]) -> dict[str, int]:
    found = {}
    for path in logs:
        if path.exists():
            found[path.name] = sum(
                1 for line in path.read_text(errors="replace").splitlines() if LOG_TROUBLE.search(line)
            )
    return found


def run_deployment(name: str, target_context: AbstractContextManager[Target], args: argparse.Namespace,
                   ladder: list[float]) -> Outcome:
    outcome = Outcome(name)
    print(f"\n== {name}: {DEPLOYMENTS[name]}", flush=True)
    started = time.monotonic()
    try:
        with target_context as target:
            print(f"   class of {len(target.people)} ready, served at {target.base} "
                  f"({time.monotonic() - started:.0f} s to set up); logs: {target.logs[0].parent}",
                  flush=True)
            spike = Spike(target, args.senders, args.timeout, args.poll)
            # warm up: connections, sandbox daemons, the workers' first tasks (not reported)
            outcome.warm_up = spike.run(10, 2)
            drain(target.url, seconds=60, settle=0.5)
            if outcome.warm_up.failed:
                outcome.error = f"the warm-up failed: {dict(outcome.warm_up.failures)}"
                print(f"   {outcome.error}", flush=True)
                return outcome
            print(HEADER, flush=True)
            search(spike, outcome, target.url, ladder, args.seconds, args.bisections)
            outcome.log_lines = trouble_in_logs(target.logs)
    except Exception as error:  # the next deployment still runs
        outcome.error = f"{type(error).__name__}: {error}"
        print(f"   failed: {outcome.error}", flush=True)
    return outcome


def summary(outcomes: list[Outcome]) -> None:
    print(f"\n== summary: a rate is held with no failure and p95 <= {HELD_P95_MS:.0f} ms; "
          f"times to verdict at {REPORTED_RATE}/s")
    print(f"{'deployment':<10} {'highest rate held':>18}   {'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7}"
          f"  {'failures':>8}  log lines of trouble")
    for outcome in outcomes:
        if outcome.error and not outcome.steps:
            print(f"{outcome.name:<10} {'-':>18}   ({outcome.error})")
            continue
        best, bounded = outcome.highest_held()
        held = "none" if best is None else f"{best:.0f}/s" if bounded else f">= {best:.0f}/s"
        step = outcome.at(REPORTED_RATE)
        figures = (f"{step.p(50):7.0f} {step.p(95):7.0f} {step.p(99):7.0f}  {step.failed:8d}" if step
                   else f"{'(not run)':>33}")
        logs = ", ".join(f"{n} in {log}" for log, n in outcome.log_lines.items())
        print(f"{outcome.name:<10} {held:>18}   {figures}  {logs}")
    sqlite = next((o for o in outcomes if o.name == "sqlite"), None)
    step = sqlite.at(REPORTED_RATE) if sqlite else None
    if step is not None:
        meets = step.failed == 0 and step.p(95) <= TARGET_P95_MS
        print(f"target: the SQLite default holds {REPORTED_RATE}/s with p95 <= {TARGET_P95_MS:.0f} ms: "
              f"{'yes' if meets else 'no'} (p95 {step.p(95):.0f} ms, {step.failed} failures)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=SECONDS, help="each step's arrivals, seconds")
    parser.add_argument("--deployments", default=",".join(DEPLOYMENTS),
                        help=f"some of {', '.join(DEPLOYMENTS)}")
    parser.add_argument("--rates", help=f"the steps, submissions/s (default {','.join(map(str, LADDER))})")
    parser.add_argument("--bisections", type=int, default=3, help="steps of bisection after the ladder")
    parser.add_argument("--students", type=int, default=STUDENTS)
    parser.add_argument("--senders", type=int, default=SENDERS, help="client threads")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds an answer may take")
    parser.add_argument("--poll", type=float, default=POLL_SECONDS,
                        help="seconds between GETs of an answer that came back 202 (the pages "
                        "wait 0.5 s, then twice as long each time)")
    args = parser.parse_args()
    chosen = [name.strip() for name in args.deployments.split(",") if name.strip()]
    unknown = set(chosen) - set(DEPLOYMENTS)
    if unknown:
        parser.error(f"unknown deployments: {', '.join(sorted(unknown))}")
    ladder = sorted(float(r) for r in args.rates.split(",")) if args.rates else [float(r) for r in LADDER]

    print(f"{args.students} students, {FUNCTION_TENTHS * 10}% function answers, {args.seconds:.0f} s "
          f"a step, {args.senders} client threads, {os.cpu_count()} cores; load average "
          f"{' '.join(f'{n:.2f}' for n in os.getloadavg())}")
    outcomes = []
    postgres = None
    try:
        for name in chosen:
            folder = Path(tempfile.mkdtemp(prefix=f"grader-bench-spike-{name}-"))
            if name == "sqlite":
                context = sqlite_deployment(folder, args.students)
            else:
                if postgres is None:
                    bin_dir = binaries()
                    if bin_dir is None:
                        print(f"\n== {name}: PostgreSQL is not installed (`make system-deps` installs it)")
                        outcomes.append(Outcome(name, error="PostgreSQL is not installed"))
                        continue
                    postgres = PostgresServer(bin_dir)
                    postgres.start()
                context = postgres_deployment(postgres, f"spike_{name}", int(name[2:]), folder,
                                              args.students)
            outcomes.append(run_deployment(name, context, args, ladder))
    finally:
        if postgres is not None:
            postgres.stop()
    summary(outcomes)
    print(f"load average at the end: {' '.join(f'{n:.2f}' for n in os.getloadavg())}")
    return 1 if any(o.error for o in outcomes) else 0


if __name__ == "__main__":
    sys.exit(main())
