"""Every attack of issue 4 against the sandbox: each is contained, scores 0, leaves no trace.

Submissions report what they could see by raising it: the student's own error
message is the one thing that comes back, so whatever they read would show in
the verdict. Each stop must come back within a few seconds.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

import exercises
import grader.judge.functions
from grader.judge.functions import grade_function
from grader.judge.verdict import Verdict
from grader.sandbox import SandboxPool

STOP_WITHIN_SECONDS = 10.0  # containment, not speed: a stop must never hang the grader
SECRET = f"grader-secret-{uuid.uuid4().hex}"
PROJECT = Path(grader.judge.functions.__file__).resolve().parents[1]
CORRECT = """
import numpy as np

def softmax(z):
    e = np.exp(z - z.max())
    return e / e.sum()
"""


@pytest.fixture(scope="module")
def pool() -> Iterator[SandboxPool]:
    previous = os.environ.get("GRADER_API_SECRET")
    os.environ["GRADER_API_SECRET"] = SECRET  # in the grader's environment while daemons start
    with SandboxPool(2) as pool:
        yield pool
    if previous is None:
        os.environ.pop("GRADER_API_SECRET", None)
    else:
        os.environ["GRADER_API_SECRET"] = previous


def attack(pool: SandboxPool, source: str, kind: str = "softmax") -> Verdict:
    started = time.monotonic()
    verdict = grade_function(exercises.get(kind), source, None, seed=11, pool=pool)
    assert time.monotonic() - started < STOP_WITHIN_SECONDS
    return verdict


def assert_contained(verdict: Verdict, codes: set[str], *absent: str) -> None:
    assert not verdict.correct and verdict.score == 0.0, verdict.feedback
    assert set(verdict.codes) & codes, verdict.codes
    text = verdict.model_dump_json()
    for secret in (SECRET, *absent):
        assert secret not in text


def reporting(body: str) -> str:
    """A submission whose function runs ``body`` (which fills ``seen``) and raises what it saw."""
    indented = "\n".join("    " + line for line in body.strip().splitlines())
    head = "import os, sys, glob\n\ndef softmax(z):\n    seen = []\n"
    return f"{head}{indented}\n    raise RuntimeError(repr(seen))\n"


def test_the_pool_still_grades_after_the_attacks(pool: SandboxPool) -> None:
    assert attack(pool, CORRECT).correct


# ---- reading the host ---------------------------------------------------------------------


def test_host_files_are_not_there(pool: SandboxPool, tmp_path: Path) -> None:
    database = tmp_path / "grader.sqlite"
    database.write_text(f"SQLite format 3 {SECRET}-db")
    project_line = "UNSTABLE_MESSAGE = ("  # a line of the project's source
    paths = [str(database), "/etc/passwd", "/etc/shadow", str(PROJECT / "grader" / "functions.py"),
             str(PROJECT / "pyproject.toml"), "/root/.bash_history", "/work/shared/contract.md"]  # fmt: skip
    body = f"""
for path in {paths!r}:
    try:
        seen.append(open(path, errors="replace").read())
    except OSError as error:
        seen.append(type(error).__name__)
"""
    verdict = attack(pool, reporting(body))
    assert_contained(verdict, {"runtime_error"}, f"{SECRET}-db", "root:x:0:0", project_line)
    assert "FileNotFoundError" in verdict.feedback[0].message


def test_the_graders_environment_is_not_there(pool: SandboxPool) -> None:
    body = """
seen.append(dict(os.environ))
for path in glob.glob("/proc/*/environ"):
    try:
        seen.append(open(path, "rb").read())
    except OSError as error:
        seen.append(type(error).__name__)
"""
    verdict = attack(pool, reporting(body))
    assert_contained(verdict, {"runtime_error"}, "GRADER_API_SECRET", "PYTEST_CURRENT_TEST")
    assert "OPENBLAS_NUM_THREADS" in verdict.feedback[0].message  # it did read its own


def test_other_processes_are_not_visible(pool: SandboxPool) -> None:
    host_pid = os.getpid()
    body = f"""
others = [p for p in os.listdir("/proc") if p.isdigit() and int(p) != os.getpid()]
seen.append(("others", others))
for path in ["/proc/{host_pid}/cmdline", "/proc/{host_pid}/environ"]:
    try:
        seen.append(open(path, "rb").read()[:80])
    except OSError as error:
        seen.append(type(error).__name__)
for pid in others:
    for leaf in ("mem", "environ", "fd/0", "fd/1", "fd/3", "root/etc/passwd"):
        try:
            open(f"/proc/{{pid}}/{{leaf}}", "rb").close()
            seen.append("OPENED " + leaf)
        except OSError as error:
            seen.append(type(error).__name__)
"""
    verdict = attack(pool, reporting(body))
    assert_contained(verdict, {"runtime_error"}, "pytest", "OPENED")
    message = verdict.feedback[0].message
    # the daemon alone, pid 1 and not dumpable: its memory, environment and pipes are closed
    assert "('others', ['1'])" in message
    assert message.count("PermissionError") == 6


def test_the_hosts_tmp_is_not_listed(pool: SandboxPool) -> None:
    sentinel = Path("/tmp") / f"host-sentinel-{uuid.uuid4().hex}"
    sentinel.write_text("host")
    try:
        body = 'seen.append(os.listdir("/tmp"))\nseen.append(os.listdir("/"))'
        verdict = attack(pool, reporting(body))
        assert_contained(verdict, {"runtime_error"}, sentinel.name, "'work'", "'etc'")
    finally:
        sentinel.unlink()


# ---- writing --------------------------------------------------------------------------------


OUTSIDE_SCRATCH = [
    "/usr/marker", "/marker", "/proc/sys/kernel/hostname", "/dev/marker", "/dev/shm/marker",
    "/usr/local/marker", "/sandbox/site/marker", "/proc/self/oom_score_adj",
]  # fmt: skip


def test_nothing_is_written_or_deleted_outside_the_scratch(pool: SandboxPool, tmp_path: Path) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    markers = [tmp_path / "marker", Path("/tmp") / f"marker-{uuid.uuid4().hex}", PROJECT / "marker"]
    body = f"""
for path in {[str(m) for m in markers] + OUTSIDE_SCRATCH!r}:
    try:
        open(path, "w").write("escaped")
        seen.append("wrote " + path)
    except OSError as error:
        seen.append(type(error).__name__)
for path in ({str(victim)!r}, "/usr/bin/python3", "/bin/sh"):
    try:
        os.unlink(path)
        seen.append("deleted " + path)
    except OSError as error:
        seen.append(type(error).__name__)
"""
    verdict = attack(pool, reporting(body))
    assert_contained(verdict, {"runtime_error"})
    message = verdict.feedback[0].message
    for outside in (str(tmp_path), str(PROJECT), *OUTSIDE_SCRATCH):
        assert f"wrote {outside}" not in message  # the sandbox's /tmp is its own scratch
    assert "deleted" not in message
    assert victim.read_text() == "keep me"
    assert not any(m.exists() for m in markers)


def test_scratch_files_do_not_outlive_a_submission(pool: SandboxPool) -> None:
    write = (
        "def softmax(z):\n    open('left-behind', 'w').write('x')\n"
        "    open('/tmp/left-behind', 'w').write('x')\n    return z\n"
    )
    for _ in range(4):
        attack(pool, write)
    body = 'seen.append(os.listdir("/tmp"))\nseen.append(os.listdir("."))'
    verdict = attack(pool, reporting(body))
    assert_contained(verdict, {"runtime_error"}, "left-behind")


def test_a_flood_of_scratch_files_costs_the_next_submission_little(pool: SandboxPool) -> None:
    flood = (
        "import os\n"
        "def softmax(z):\n"
        "    i = 0\n"
        "    while True:\n"
        "        os.close(os.open(f'f{i}', os.O_CREAT | os.O_WRONLY))\n"
        "        i += 1\n"
    )
    assert_contained(attack(pool, flood), {"timeout"})
    started = time.monotonic()
    assert attack(pool, CORRECT).correct
    assert time.monotonic() - started < STOP_WITHIN_SECONDS


# ---- network -------------------------------------------------------------------------------


@pytest.fixture
def listener() -> Iterator[tuple[int, list[object]]]:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    server.settimeout(0.2)
    accepted: list[object] = []
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                accepted.append(server.accept())
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield server.getsockname()[1], accepted
    stop.set()
    thread.join()
    server.close()


@pytest.mark.parametrize(
    "opening",
    [
        "import socket\n    socket.create_connection(('127.0.0.1', {port}), timeout=1)",
        "import urllib.request\n    urllib.request.urlopen('http://127.0.0.1:{port}/', timeout=1)",
        "import socket\n    socket.socket(socket.AF_UNIX).connect('/run/systemd/notify')",
        "import socket\n    socket.socket(socket.AF_INET, socket.SOCK_DGRAM)"
        ".sendto(b'x', ('127.0.0.1', {port}))",
    ],
)
def test_no_network_not_even_loopback(
    pool: SandboxPool, listener: tuple[int, list[object]], opening: str
) -> None:
    port, accepted = listener
    source = f"def softmax(z):\n    {opening.format(port=port)}\n    return z\n"
    verdict = attack(pool, source)
    assert_contained(verdict, {"forbidden"})
    time.sleep(0.3)
    assert accepted == []


# ---- programs, processes, limits -------------------------------------------------------------


@pytest.mark.parametrize(
    "start",
    [
        "import subprocess\n    subprocess.run(['touch', MARKER])",
        "os.system('touch ' + MARKER)",
        "import ctypes\n    ctypes.CDLL(None).system(('touch ' + MARKER).encode())",
        "os.execv('/usr/bin/touch', ['touch', MARKER])",
        "os.posix_spawn('/usr/bin/touch', ['touch', MARKER], {})",
        "import pty\n    pty.spawn(['touch', MARKER])",
        "import multiprocessing\n    multiprocessing.Process(target=print).start()",
    ],
)
def test_no_program_is_started(pool: SandboxPool, tmp_path: Path, start: str) -> None:
    marker = tmp_path / "started"
    source = f"import os\nMARKER = {str(marker)!r}\ndef softmax(z):\n    {start}\n    return z\n"
    verdict = attack(pool, source)
    assert_contained(verdict, {"forbidden", "runtime_error"})
    assert not marker.exists()


def test_a_fork_bomb_is_forbidden(pool: SandboxPool) -> None:
    verdict = attack(pool, "import os\ndef softmax(z):\n    while True:\n        os.fork()\n")
    assert_contained(verdict, {"forbidden"})


def test_a_thread_bomb_is_stopped(pool: SandboxPool) -> None:
    source = (
        "import threading, time\n"
        "def softmax(z):\n"
        "    while True:\n"
        "        threading.Thread(target=time.sleep, args=(600,), daemon=True).start()\n"
    )
    verdict = attack(pool, source)
    assert_contained(verdict, {"runtime_error", "memory", "timeout"})
    assert attack(pool, CORRECT).correct


@pytest.mark.parametrize(
    "bomb",
    [
        "hoard = []\n    while True:\n        hoard.append(bytearray(1 << 24))",
        "return np.ones((100000, 100000))",
        "return np.empty(10**12)",
        "return np.zeros(len(z)) + np.ones(2**31)",
        "return 'x' * (1 << 40)",
    ],
)
def test_memory_bombs_and_huge_arrays_are_stopped(pool: SandboxPool, bomb: str) -> None:
    verdict = attack(pool, f"import numpy as np\ndef softmax(z):\n    {bomb}\n")
    # a bomb that fills what it takes may meet the clock first on a busy machine
    stops = {"memory", "timeout"} if "hoard" in bomb else {"memory"}
    assert_contained(verdict, stops)


@pytest.mark.parametrize(
    "stall",
    [
        "while True:\n        pass",
        "import signal\n    for s in (signal.SIGXCPU, signal.SIGTERM, signal.SIGINT, signal.SIGALRM):\n"
        "        signal.signal(s, signal.SIG_IGN)\n    while True:\n        pass",
        "import time\n    time.sleep(10**6)",
        "import signal\n    signal.pause()",
        "import threading\n    threading.Event().wait()",
    ],
)
def test_loops_and_sleeps_are_stopped_from_outside(pool: SandboxPool, stall: str) -> None:
    verdict = attack(pool, f"def softmax(z):\n    {stall}\n")
    assert_contained(verdict, {"timeout"})


def test_an_output_flood_reaches_nobody(pool: SandboxPool, capfd: pytest.CaptureFixture[str]) -> None:
    source = (
        "import os, sys\n"
        "def softmax(z):\n"
        "    while True:\n"
        "        print('FLOOD' * 1000)\n"
        "        sys.__stdout__.write('FLOOD' * 1000)\n"
        "        os.write(1, b'FLOOD' * 1000)\n"
        "        os.write(2, b'FLOOD' * 1000)\n"
    )
    verdict = attack(pool, source)
    assert_contained(verdict, {"timeout"})
    out, err = capfd.readouterr()
    assert "FLOOD" not in out and "FLOOD" not in err


@pytest.mark.parametrize(
    "raising",
    [
        "resource.setrlimit(resource.RLIMIT_CPU, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))",
        "resource.setrlimit(resource.RLIMIT_AS, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))",
        "resource.prlimit(0, resource.RLIMIT_NPROC, (10**6, 10**6))",
    ],
)
def test_limits_cannot_be_raised(pool: SandboxPool, raising: str) -> None:
    source = f"import resource\ndef softmax(z):\n    {raising}\n    while True:\n        pass\n"
    verdict = attack(pool, source)
    assert_contained(verdict, {"forbidden"})


@pytest.mark.parametrize(
    "recursion",
    [
        "def softmax(z):\n    return softmax(z) + 1\n",
        "import sys\nsys.setrecursionlimit(10**8)\ndef softmax(z):\n    return softmax(z) + 1\n",
    ],
)
def test_deep_recursion_is_stopped(pool: SandboxPool, recursion: str) -> None:
    # Python 3.11 frames live on the heap: a raised recursion limit runs into memory or time
    assert_contained(attack(pool, recursion), {"runtime_error", "memory", "timeout"})


@pytest.mark.parametrize(
    "crash",
    [
        "import ctypes\n    ctypes.string_at(0)",
        "import faulthandler\n    faulthandler._sigsegv()",
        "os.abort()",
    ],
)
def test_a_segfault_is_an_error(pool: SandboxPool, crash: str) -> None:
    verdict = attack(pool, f"import os\ndef softmax(z):\n    {crash}\n")
    assert_contained(verdict, {"runtime_error", "forbidden"})


@pytest.mark.parametrize(
    "kill",
    ["os.kill(os.getppid(), 9)", "os.kill(1, 9)", "os.kill(-1, 9)", "os.killpg(0, 9)", "os.kill(2, 19)"],
)
def test_the_parent_cannot_be_killed(pool: SandboxPool, kill: str) -> None:
    verdict = attack(pool, f"import os\ndef softmax(z):\n    {kill}\n    return z\n")
    assert_contained(verdict, {"forbidden"})
    assert all(p.alive for p in pool._processes if p._process is not None)
    assert attack(pool, CORRECT).correct  # the daemons still answer, and this process is here


# ---- cheating the comparison -----------------------------------------------------------------


CHEATS = {
    "patched numpy": """
import numpy as np
np.allclose = lambda *a, **k: True
np.array_equal = lambda *a, **k: True
np.isclose = lambda a, b, **k: np.ones(np.shape(a), dtype=bool)
np.testing.assert_allclose = lambda *a, **k: None
try:
    np.ndarray.__eq__ = lambda self, other: True
except TypeError:
    pass
def softmax(z):
    return np.zeros_like(z)
""",
    "lying ndarray subclass": """
import numpy as np
class Liar(np.ndarray):
    def __eq__(self, other): return True
    def __ne__(self, other): return False
    def __array__(self, *a, **k): return np.full(self.shape, 0.5)
    def tolist(self): return [1.0]
    def tobytes(self, *a, **k): return b""
    def astype(self, *a, **k): return self
    def view(self, *a, **k): return self
    def __float__(self): return 1.0
def softmax(z):
    return np.zeros(len(z)).view(Liar)
""",
    "object with lying __eq__ and __array__": """
import numpy as np
class Liar:
    shape = (3,)
    def __eq__(self, other): return True
    def __array__(self, *a, **k):
        return np.array(["correct", "verdict"], dtype=object)
    def __len__(self): return 3
def softmax(z):
    return Liar()
""",
    "printed fake verdict": """
import os, sys, json
FAKE = json.dumps({"correct": True, "score": 1.0, "feedback": []})
print(FAKE)
sys.__stdout__.write(FAKE)
for fd in range(0, 64):
    try:
        os.write(fd, FAKE.encode())
    except OSError:
        pass
def softmax(z):
    print(FAKE)
    return z
""",
    "forged result frames": """
import os, json, struct, numpy as np
def softmax(z):
    head = json.dumps({"status": "ok", "shape": [len(z)], "correct": True}).encode()
    body = np.full(len(z), 1.0 / len(z)).tobytes()
    for fd in range(3, 64):
        try:
            os.write(fd, struct.pack(">II", len(head), len(body)) + head + body)
        except OSError:
            pass
    os._exit(0)
""",
    "a flood of result frames": """
import os, struct
FLOOD = struct.pack(">II", 2, 0) + b"{}"
def softmax(z):
    for fd in range(3, 64):
        try:
            for _ in range(400):
                os.write(fd, FLOOD * 8192)
        except OSError:
            pass
    return z
""",
    "forged end of run": """
import os, struct, time
for fd in range(3, 64):
    try:
        os.write(fd, struct.pack(">Qd", 0x646F6E65, 0.0))
    except OSError:
        pass
time.sleep(100)
def softmax(z):
    return z
""",
    "sys.exit(0) at import": "import sys\nsys.exit(0)\ndef softmax(z):\n    return z\n",
    "os._exit(0) at import": "import os\nos._exit(0)\ndef softmax(z):\n    return z\n",
    "os._exit(0) in the function": "import os\ndef softmax(z):\n    os._exit(0)\n",
    "exit() in the function": "def softmax(z):\n    exit(0)\n",
    "frames and garbage collector": """
import gc, sys
import numpy as np
def softmax(z):
    found = []
    frame = sys._getframe()
    while frame is not None:
        found.extend(v for v in list(frame.f_locals.values()) + list(frame.f_globals.values())
                     if isinstance(v, (np.ndarray, list, dict)))
        frame = frame.f_back
    found.extend(o for o in gc.get_objects() if isinstance(o, (np.ndarray, list, dict)))
    for obj in found:
        try:
            a = np.asarray(obj, dtype=float)
        except Exception:
            continue
        if a.shape == z.shape and a is not z and abs(a.sum() - 1) < 1e-9 and (a > 0).all():
            return a
    raise LookupError("no expected answer anywhere: " + repr(sorted(sys.modules)))
""",
}


@pytest.mark.parametrize("cheat", CHEATS.values(), ids=CHEATS.keys())
def test_the_comparison_cannot_be_cheated(pool: SandboxPool, cheat: str) -> None:
    verdict = attack(pool, cheat)
    assert not verdict.correct and verdict.score == 0.0, verdict.feedback
    assert verdict.instances_passed == 0


def test_grader_and_exercises_are_not_loaded_inside(pool: SandboxPool) -> None:
    verdict = attack(pool, CHEATS["frames and garbage collector"])
    message = verdict.feedback[-1].message
    assert "LookupError" in message
    assert "'grader" not in message and "'exercises" not in message and "'numpy'" in message


def test_grader_check_prints_only_its_own_verdict(tmp_path: Path) -> None:
    instance = tmp_path / "instance.json"
    instance.write_text(json.dumps({"kind": "softmax", "z": [1.0, 2.0, 3.0]}))
    answer = tmp_path / "answer.py"
    answer.write_text(CHEATS["printed fake verdict"])
    grader_command = Path(sys.executable).with_name("grader")
    done = subprocess.run(
        [str(grader_command), "check", "--instance", str(instance), "--answer", str(answer),
         "--format", "python", "--json"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    lines = done.stdout.splitlines()
    assert len(lines) == 1
    verdict = json.loads(lines[0])
    assert verdict["correct"] is False and verdict["score"] == 0.0


def test_no_child_inherits_another_submissions_code_or_results() -> None:
    marker = f"solution-{uuid.uuid4().hex}"
    earlier = (
        f"SOLUTION = {marker!r}\n"
        "def softmax(z):\n"
        "    open('notes.txt', 'w').write(SOLUTION)\n"
        "    raise ValueError(SOLUTION)\n"
    )
    # scans all of its own readable memory for the marker, spelled backwards in its source
    scan = f"""
import ctypes
def softmax(z):
    needle = {marker[::-1]!r}[::-1].encode()
    hits = 0
    for line in open("/proc/self/maps").read().splitlines():
        span, perms = line.split()[:2]
        if not perms.startswith("r") or "[v" in line:
            continue
        start, end = (int(x, 16) for x in span.split("-"))
        for offset in range(start, end, 1 << 20):
            hits += ctypes.string_at(offset, min(1 << 20, end - offset)).count(needle)
    raise RuntimeError(f"hits={{hits}}")
"""
    with SandboxPool(1) as pool:
        for _ in range(2):
            assert marker in attack(pool, earlier).feedback[0].message
        verdict = attack(pool, scan)
    assert "hits=1" in verdict.feedback[0].message  # its own needle, nothing of the other


def test_attacks_mixed_with_honest_work_from_many_threads(pool: SandboxPool) -> None:
    mixed = [
        (CORRECT, {"correct"}),
        ("import os\ndef softmax(z):\n    os.fork()\n", {"forbidden"}),
        (CORRECT, {"correct"}),
        ("import ctypes\ndef softmax(z):\n    ctypes.string_at(0)\n", {"runtime_error"}),
        ("import numpy as np\ndef softmax(z):\n    return np.ones(2**40)\n", {"memory"}),
        (CORRECT, {"correct"}),
        ("def softmax(z):\n    while True:\n        pass\n", {"timeout"}),
        ("import os\ndef softmax(z):\n    os.kill(1, 9)\n", {"forbidden"}),
        (CORRECT, {"correct"}),
    ]

    def grade(source: str) -> set[str]:
        verdict = attack(pool, source)
        return {"correct"} if verdict.correct else set(verdict.codes)

    with ThreadPoolExecutor(max_workers=6) as executor:
        outcomes = list(executor.map(grade, [source for source, _ in mixed]))
    for (_, expected), got in zip(mixed, outcomes, strict=True):
        assert expected & got, (expected, got)
