"""Sandbox slots shared out among the processes of one host: each holds a block apart from
the others' for its life, a block let go (released, or its process ended) is taken again,
and slots pinned by hand are held too, or refused when another process has them."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from grader.sandbox import pool as pool_module
from grader.sandbox import slots

# a process that holds ``size`` slots until its standard input closes, and prints the first
HOLDER = """
import sys
from pathlib import Path
from grader.sandbox import slots
held = slots.claim(int(sys.argv[2]), directory=Path(sys.argv[1]))
print(held.first, flush=True)
sys.stdin.read()
"""

Holder = Callable[[int], tuple[subprocess.Popen[str], int]]


@pytest.fixture
def holder(tmp_path: Path) -> Iterator[Holder]:
    started: list[subprocess.Popen[str]] = []

    def start(size: int) -> tuple[subprocess.Popen[str], int]:
        process = subprocess.Popen([sys.executable, "-c", HOLDER, str(tmp_path), str(size)],
                                   stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        started.append(process)
        assert process.stdout is not None
        return process, int(process.stdout.readline())

    yield start
    for process in started:
        with process:  # closes its pipes
            if process.poll() is None:
                process.kill()
            process.wait(10)


def test_processes_hold_blocks_apart_and_a_block_let_go_is_taken_again(tmp_path: Path, holder: Holder):
    first, first_slot = holder(2)
    _, second_slot = holder(2)
    mine = slots.claim(2, directory=tmp_path)  # this process's, beside the others'
    assert (first_slot, second_slot, mine.first) == (0, 8, 16)

    os.kill(first.pid, signal.SIGKILL)  # however a process ends, the kernel lets its block go
    first.wait(10)
    assert holder(2)[1] == 0
    mine.release()
    again = slots.claim(2, directory=tmp_path)
    assert again.first == 16
    again.release()


def test_slots_pinned_by_hand_are_held_and_refused_when_another_process_has_them(
    tmp_path: Path, holder: Holder
):
    pinned = slots.claim(4, first=6, directory=tmp_path)  # across blocks 0 and 1: both held
    assert list(pinned.slots) == [6, 7, 8, 9]
    _, taken = holder(2)
    assert taken == 16
    with pytest.raises(slots.SlotsTaken, match="slots 16 to 17 are held by another process"):
        slots.claim(2, first=16, directory=tmp_path)
    with pytest.raises(slots.SlotsTaken):
        slots.claim(1, first=0, directory=tmp_path)  # held by this process: one claim each
    pinned.release()
    slots.claim(1, first=0, directory=tmp_path).release()


def test_a_host_whose_blocks_are_all_held_gives_none(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(slots, "MAX_BLOCKS", 2)
    held = [slots.claim(8, directory=tmp_path) for _ in range(2)]
    with pytest.raises(slots.SlotsTaken, match="all 2 blocks"):
        slots.claim(1, directory=tmp_path)
    for claim in held:
        claim.release()


def test_a_lock_folder_that_cannot_be_made_fails_closed(tmp_path: Path):
    (tmp_path / "file").write_text("not a folder")
    with pytest.raises(slots.SandboxUnavailable, match="cannot hold sandbox slots"):
        slots.claim(1, directory=tmp_path / "file" / "locks")


def test_forked_server_workers_take_slots_apart_and_a_respawn_takes_the_dead_ones(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(slots, "locks_dir", lambda: tmp_path)
    monkeypatch.setattr(pool_module, "_default", None)
    monkeypatch.setattr(pool_module, "_default_claim", None)
    monkeypatch.setattr(pool_module, "_default_first_slot", None)

    def fork_worker() -> tuple[int, int]:
        """A forked process (as gunicorn forks its workers) that starts its pool, says its
        first slot and holds it until killed: its pid and slot."""
        said, say = os.pipe()
        pid = os.fork()
        if pid == 0:
            try:
                os.write(say, str(pool_module.default_pool().slots[0]).encode())
                time.sleep(60)
            finally:
                os._exit(0)
        os.close(say)
        slot = int(os.read(said, 20))
        os.close(said)
        return pid, slot

    def kill(pid: int) -> None:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)

    workers = [fork_worker() for _ in range(2)]
    try:
        assert [slot for _, slot in workers] == [0, 8]
        kill(workers.pop(0)[0])
        workers.append(fork_worker())
        assert workers[-1][1] == 0  # the respawn takes the slots of the worker that died
    finally:
        for pid, _ in workers:
            kill(pid)


def test_a_pool_has_one_daemon_per_core_its_process_may_run_on():
    """A worker started under ``taskset`` (or in a container's cpuset) sizes its pool to
    the cores it has, not to the host's."""
    script = "from grader.sandbox.pool import default_size; print(default_size())"
    pinned = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True,
        preexec_fn=lambda: os.sched_setaffinity(0, {min(os.sched_getaffinity(0))}),
    )
    assert pinned.stdout.strip() == "1"
    free = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert int(free.stdout) == min(len(os.sched_getaffinity(0)), 8)


def test_the_lock_folder_is_the_one_the_setting_names(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv(slots.LOCKS_DIR_VARIABLE, str(tmp_path / "locks"))
    held = slots.claim(2)
    try:
        assert (tmp_path / "locks" / f"block-{held.first // slots.SLOTS_PER_BLOCK}.lock").exists()
    finally:
        held.release()


def test_the_suite_leaves_nothing_in_the_hosts_run_folder():
    """The suite names a folder of its own (conftest), which its workers and servers inherit."""
    assert not slots.locks_dir().is_relative_to(slots.RUN_DIR)
    code = "from grader.sandbox import slots; print(slots.locks_dir())"
    started = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert started.stdout.strip() == str(slots.locks_dir())
