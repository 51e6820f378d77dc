"""The sandbox pool: plain results back, stops as results, reuse, concurrency, failing closed."""

from __future__ import annotations

import json
import os
import signal
import struct
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from grader.sandbox import Limits, SandboxPool, SandboxUnavailable, client, launch, slots
from grader.sandbox import pool as pool_module
from grader.sandbox.result import read_result

SOFTMAX = """
import numpy as np

def softmax(z):
    e = np.exp(z - z.max())
    return e / e.sum()
"""
Z = [1.0, 2.0, 3.0]
S = [0.09003057, 0.24472847, 0.66524096]
QUICK = Limits(wall_seconds=1.0, cpu_seconds=1)


@pytest.fixture(scope="module")
def pool() -> Iterator[SandboxPool]:
    with SandboxPool(2) as pool:
        yield pool


def run_one(pool: SandboxPool, source: str, args: list | None = None, **kw: object):
    return pool.run(source, "softmax", [args or [Z]], **kw)  # type: ignore[arg-type]


def test_a_correct_function_comes_back_as_plain_float64_arrays(pool: SandboxPool) -> None:
    result = pool.run(SOFTMAX, "softmax", [[Z], [[0.0]], [[5.0, 5.0]]])
    assert result.setup == "ok" and result.stop is None
    assert [c.status for c in result.calls] == ["ok", "ok", "ok"]
    first = result.calls[0].value
    assert type(first) is np.ndarray and first.dtype == np.float64
    np.testing.assert_allclose(first, S, rtol=1e-7)
    np.testing.assert_allclose(result.calls[1].value, [1.0])
    np.testing.assert_allclose(result.calls[2].value, [0.5, 0.5])


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("return [[1, 2], [3, 4]]", [[1.0, 2.0], [3.0, 4.0]]),
        ("return (0.5, 0.25)", [0.5, 0.25]),
        ("return np.arange(3)", [0.0, 1.0, 2.0]),
        ("return np.float32(2.5)", 2.5),
        ("return np.array([True, False])", [1.0, 0.0]),
        ("return np.arange(6).reshape(2, 3).T", [[0.0, 3.0], [1.0, 4.0], [2.0, 5.0]]),
    ],
)
def test_returned_values_are_converted_to_float64(pool: SandboxPool, body: str, expected: object) -> None:
    result = run_one(pool, f"import numpy as np\ndef softmax(z):\n    {body}\n")
    assert result.calls[0].ok, result.calls[0].message
    np.testing.assert_array_equal(result.calls[0].value, np.asarray(expected, dtype=np.float64))


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ("return None", "returned None"),
        ("return 'abc'", "str"),
        ("return [[1, 2], [3]]", "could not be read"),
        ("return np.array([1j])", "could not be read"),
        ("return np.zeros((2, 2, 2, 2))", "far too large"),
    ],
)
def test_values_that_are_not_arrays_of_numbers_are_refused(
    pool: SandboxPool, body: str, words: str
) -> None:
    result = run_one(pool, f"import numpy as np\ndef softmax(z):\n    {body}\n")
    assert result.calls[0].status == "not_array"
    assert words in result.calls[0].message


def test_a_syntax_error_names_the_line(pool: SandboxPool) -> None:
    result = run_one(pool, "def softmax(z):\n    return z +\n")
    assert result.setup == "syntax_error"
    assert "line 2" in result.setup_message


def test_a_missing_function_lists_what_is_defined(pool: SandboxPool) -> None:
    result = run_one(pool, "def soft_max(z):\n    return z\n")
    assert result.setup == "missing_function"
    assert result.defined == ["soft_max"]


def test_a_traceback_shows_only_the_students_own_lines(pool: SandboxPool) -> None:
    source = "def helper(z):\n    return z[10]\n\ndef softmax(z):\n    return helper(z)\n"
    result = run_one(pool, source)
    message = result.calls[0].message
    assert result.calls[0].status == "runtime_error"
    assert "line 5, in softmax" in message and "line 2, in helper" in message
    assert "IndexError" in message
    for grader_word in ("daemon", "/sandbox", "run_submission", "File "):
        assert grader_word not in message


def test_an_error_at_module_level_is_a_setup_error(pool: SandboxPool) -> None:
    result = run_one(pool, "raise ValueError('no')\n")
    assert result.setup == "runtime_error"
    assert "ValueError: no" in result.setup_message


def test_a_slow_function_is_stopped_and_the_pool_goes_on(pool: SandboxPool) -> None:
    result = run_one(pool, "def softmax(z):\n    while True:\n        pass\n", limits=QUICK)
    assert result.stop == "timeout"
    assert run_one(pool, SOFTMAX).calls[0].ok


def test_results_before_a_stop_are_kept(pool: SandboxPool) -> None:
    source = "import time\ndef softmax(z):\n    if len(z) == 1:\n        time.sleep(60)\n    return z\n"
    result = pool.run(source, "softmax", [[Z], [Z], [[1.0]], [Z]], limits=QUICK)
    assert result.stop == "timeout"
    assert [c.status for c in result.calls] == ["ok", "ok"]


def test_numpy_patched_by_one_submission_is_intact_for_the_next(pool: SandboxPool) -> None:
    patch = "import numpy as np\nnp.exp = lambda z: z * 0\ndef softmax(z):\n    return np.exp(z)\n"
    for _ in range(3):  # whichever daemon takes it
        run_one(pool, patch)
    for _ in range(3):
        np.testing.assert_allclose(run_one(pool, SOFTMAX).calls[0].value, S, rtol=1e-7)


def test_nothing_of_the_project_is_importable_inside(pool: SandboxPool) -> None:
    source = (
        "import sys, importlib.util\n"
        "def softmax(z):\n"
        "    found = [m for m in ('grader', 'exercises', 'pyseccomp', 'pytest', 'flask')\n"
        "             if importlib.util.find_spec(m) is not None]\n"
        "    loaded = [m for m in sys.modules if m.split('.')[0] in ('grader', 'exercises')]\n"
        "    raise RuntimeError(f'found={found} loaded={loaded} path={sys.path}')\n"
    )
    message = run_one(pool, source).calls[0].message
    assert "found=[] loaded=[]" in message
    assert "/work" not in message and ".venv" not in message


def test_the_pool_grades_concurrently(pool: SandboxPool) -> None:
    outcomes: list[bool] = []

    def grade() -> None:
        result = run_one(pool, SOFTMAX)
        outcomes.append(bool(result.calls and np.allclose(result.calls[0].value, S)))

    threads = [threading.Thread(target=grade) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outcomes == [True] * 8


def test_a_daemon_killed_from_outside_is_restarted() -> None:
    with SandboxPool(1) as pool:
        assert run_one(pool, SOFTMAX).calls[0].ok
        pool._processes[0]._process.kill()  # type: ignore[union-attr]
        assert run_one(pool, SOFTMAX).calls[0].ok


@pytest.mark.skipif(os.geteuid() != 0, reason="slots have uids of their own when run as root")
def test_the_slots_of_a_pool_run_as_uids_of_their_own() -> None:
    whoami = "import os\nimport numpy as np\ndef softmax(z):\n    return np.array([float(os.getuid())])\n"
    with SandboxPool(2, first_slot=5) as pool:
        assert [p.slot for p in pool._processes] == [5, 6]
        uid = run_one(pool, whoami).calls[0].value
        assert float(uid[0]) in (launch.SLOT_UID_BASE + 5, launch.SLOT_UID_BASE + 6)


def test_the_default_pool_is_numbered_before_it_starts(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(slots, "locks_dir", lambda: tmp_path)
    monkeypatch.setattr(pool_module, "_default", None)
    monkeypatch.setattr(pool_module, "_default_claim", None)
    monkeypatch.setattr(pool_module, "_default_first_slot", None)
    pool_module.use_slots_from(8)
    started = pool_module.default_pool()
    try:
        assert started._processes[0].slot == 8
        with pytest.raises(RuntimeError, match="already started"):
            pool_module.use_slots_from(16)
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:  # a forked server process starts a pool of its own, on slots of its own
            fresh = pool_module._default is None and pool_module._default_claim is None
            os.write(write, b"fresh" if fresh else b"inherited")
            os._exit(0)
        os.close(write)
        assert os.read(read, 20) == b"fresh"
        os.close(read)
        os.waitpid(pid, 0)
        with pytest.raises(slots.SlotsTaken):  # the child let go of its copy, not of the slots
            slots.claim(1, first=8)
    finally:
        pool_module.close_default_pool()
    assert pool_module._default is None
    slots.claim(1, first=8).release()  # closed, the pool let them go


def test_without_bubblewrap_nothing_runs(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(launch, "BWRAP_SEARCH_PATH", str(tmp_path))
    with SandboxPool(1) as pool, pytest.raises(SandboxUnavailable, match="bubblewrap"):
        run_one(pool, f"open({str(marker)!r}, 'w')\ndef softmax(z):\n    return z\n")
    assert not marker.exists()


def test_a_sandbox_that_cannot_start_fails_closed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(launch, "bwrap_path", lambda: "/bin/false")
    with SandboxPool(1) as pool, pytest.raises(SandboxUnavailable):
        run_one(pool, SOFTMAX)


# ---- reading what comes back, with suspicion -------------------------------------------


def frame(header: dict, body: bytes = b"") -> bytes:
    head = json.dumps(header).encode()
    return struct.pack(">II", len(head), len(body)) + head + body


DONE = {"stop": None, "exit_code": 0, "signal": None, "elapsed_ms": 1.0, "cpu_ms": 1.0}


@pytest.mark.parametrize(
    "stream",
    [
        frame({"status": "ok"}) + frame({"status": "ok", "shape": [3]}, b"\0" * 16),
        frame({"status": "ok"}) + frame({"status": "ok", "shape": [-1]}, b""),
        frame({"status": "ok"}) + frame({"status": "ok", "shape": [1, 1, 1, 1]}, b"\0" * 8),
        frame({"status": "ok"}) + frame({"status": "ok", "shape": ["3"]}, b"\0" * 24),
        frame({"status": "ok"}) + frame({"status": "correct"}),
        frame({"status": "ok"}) + struct.pack(">II", 3, 0) + b"[1]",
        frame({"status": "ok"}) + struct.pack(">II", 1 << 30, 0),
        frame({"status": "verdict", "correct": True}),
    ],
)
def test_malformed_results_are_never_taken_as_answers(stream: bytes) -> None:
    result = read_result(DONE, stream, 1, Limits())
    assert not any(call.ok for call in result.calls)
    assert result.stop in ("garbled", "exited")


@pytest.mark.parametrize(
    ("daemon", "stop"),
    [
        ({"stop": "sandbox_error", "signal": 9}, "sandbox_error"),
        ({"signal": 31}, "forbidden"),
        ({"signal": 11}, "crashed"),
        ({"signal": 9, "cpu_ms": 5000.0}, "timeout"),
        ({"stop": "timeout", "signal": 9}, "timeout"),
        ({"exit_code": 3}, "exited"),
    ],
)
def test_how_the_child_ended_is_named(daemon: dict, stop: str) -> None:
    result = read_result({**DONE, "exit_code": None, **daemon}, frame({"status": "ok"}), 1, Limits())
    assert result.stop == stop


def test_a_frame_cut_short_by_a_kill_is_dropped() -> None:
    ok = frame({"status": "ok", "shape": [2]}, np.array([1.0, 2.0]).tobytes())
    stream = frame({"status": "ok"}) + ok + ok[:-3]
    result = read_result({**DONE, "stop": "timeout"}, stream, 2, Limits())
    assert len(result.calls) == 1 and result.stop == "timeout"


FLOOD = frame({"status": "ok"}) + frame({}) + struct.pack(">II", 1 << 30, 0) + frame({}) * 100_000


def test_a_flood_of_frames_is_read_no_further_than_its_first_wrong_frame() -> None:
    # the third frame's header would be "far too long": reading stopped before it
    result = read_result(DONE, FLOOD, 1, Limits())
    assert result.stop == "garbled" and "unknown call status None" in result.stop_message


def test_a_bad_setup_status_is_checked_before_any_other_frame() -> None:
    stream = frame({"status": "correct"}) + struct.pack(">II", 1 << 30, 0)
    result = read_result(DONE, stream, 1, Limits())
    assert result.stop == "garbled" and "setup status 'correct'" in result.stop_message


def test_a_frame_beyond_one_per_call_is_refused() -> None:
    ok = frame({"status": "ok", "shape": [1]}, np.array([1.0]).tobytes())
    assert read_result(DONE, frame({"status": "ok"}) + ok * 2, 2, Limits()).stop is None
    surplus = read_result(DONE, frame({"status": "ok"}) + ok * 3, 2, Limits())
    assert surplus.stop == "garbled" and "more than the 3 frames" in surplus.stop_message


def test_bytes_beyond_the_reply_limit_are_not_read() -> None:
    ok = frame({"status": "ok", "shape": [1]}, np.array([1.0]).tobytes())
    stream = frame({"status": "ok"}) + ok * 2
    result = read_result(DONE, stream, 2, Limits(max_reply_bytes=len(stream) - 1))
    assert len(result.calls) == 1 and result.stop == "exited"


def test_a_daemon_that_stops_answering_is_replaced() -> None:
    with SandboxPool(1) as pool:
        assert run_one(pool, SOFTMAX).calls[0].ok
        bwrap = pool._processes[0]._process
        assert bwrap is not None
        children = Path(f"/proc/{bwrap.pid}/task/{bwrap.pid}/children").read_text().split()
        os.kill(int(children[0]), signal.SIGSTOP)  # the daemon itself, frozen
        result = run_one(pool, SOFTMAX, limits=QUICK)
        assert result.calls and result.calls[0].ok  # answered by a fresh daemon
        assert bwrap.poll() is not None  # the frozen one is gone


def test_work_can_go_on_while_the_child_runs(pool: SandboxPool) -> None:
    with pool.started(SOFTMAX, "softmax", [[Z]]) as pending:
        expected = np.exp(Z) / np.exp(Z).sum()  # the grader's side of the work
        result = pending.result()
    np.testing.assert_allclose(result.calls[0].value, expected)


def test_a_run_left_unread_gives_its_daemon_up() -> None:
    with SandboxPool(1) as pool:
        with pool.started(SOFTMAX, "softmax", [[Z]]):
            pass
        assert run_one(pool, SOFTMAX).calls[0].ok  # on a fresh daemon, not the stale reply


def test_a_seccomp_filter_the_kernel_refuses_runs_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(client, "compiled_policy", lambda: b"\0" * 8)  # no return: invalid BPF
    with SandboxPool(1) as pool:
        result = run_one(pool, "open('/tmp/ran', 'w')\nraise SystemExit\ndef softmax(z):\n    return z\n")
    assert result.stop == "sandbox_error" and result.setup == "sandbox_error"
    assert "seccomp" in result.setup_message


@pytest.mark.parametrize(
    "sources",
    [
        ["/usr", "/tmp/ci/.venv/lib/python3.11/site-packages/numpy"],  # a checkout under /tmp
        ["/usr", "/tmp", "/mnt/x/numpy"],
        ["/usr", "/root/.pyenv/versions/3.11.7"],
    ],
)
def test_the_stage_never_hides_what_it_mounts(sources: list[str]) -> None:
    stage = launch.stage_dir(sources)
    assert os.path.isdir(stage)
    assert not any(s == stage or s.startswith(stage + "/") for s in sources)


def test_no_stage_left_is_unavailable_not_unsandboxed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(launch, "STAGE_CANDIDATES", ("/tmp",))
    with pytest.raises(SandboxUnavailable, match="no directory to stage"):
        launch.stage_dir(["/tmp/checkout/numpy"])
