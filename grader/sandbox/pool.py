"""A small warm pool of sandbox daemons, shared by the threads of one grader process."""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import queue
import threading
from collections.abc import Iterator, Sequence
from typing import Any

from grader.sandbox import slots as host_slots
from grader.sandbox.client import DaemonLost, Reply, SandboxProcess
from grader.sandbox.launch import SandboxUnavailable
from grader.sandbox.limits import MAX_SOURCE_CHARS, Limits
from grader.sandbox.result import SandboxResult, read_result

Argument = list[Any] | int | float  # a JSON-able value: nested lists become float64 arrays


class SandboxPool:
    """``size`` daemons (one per core by default), started lazily, reused, restarted when broken.

    ``run`` may be called from many threads at once; each call holds one daemon
    for the length of one submission.
    """

    def __init__(
        self, size: int | None = None, limits: Limits | None = None, first_slot: int = 0
    ) -> None:
        self.size = size or default_size()
        self.limits = limits or Limits()
        # first in, first out: the daemon taken is the one idle longest, whose next child
        # is already forked
        self._idle: queue.Queue[SandboxProcess] = queue.Queue()
        self.slots = range(first_slot, first_slot + self.size)  # each slot runs as a uid of its own
        self._processes = [SandboxProcess(slot) for slot in self.slots]
        for process in reversed(self._processes):
            self._idle.put(process)
        self._closed = False

    def run(
        self,
        source: str,
        function: str,
        calls: Sequence[Sequence[Argument]],
        limits: Limits | None = None,
    ) -> SandboxResult:
        """Run ``function`` from ``source`` once per entry of ``calls``, in one sandboxed child.

        Raises SandboxUnavailable when no sandbox can be started: code never runs without one.
        """
        with self.started(source, function, calls, limits) as pending:
            return pending.result()

    @contextlib.contextmanager
    def started(
        self,
        source: str,
        function: str,
        calls: Sequence[Sequence[Argument]],
        limits: Limits | None = None,
    ) -> Iterator[PendingRun]:
        """The submission sent to a daemon; the caller may work while it runs, then ask ``result()``.

        Leaving the block without asking gives the daemon up (it is killed and restarted).
        """
        if self._closed:
            raise SandboxUnavailable("the sandbox pool is closed")
        if len(source) > MAX_SOURCE_CHARS:
            raise ValueError(f"the source is longer than {MAX_SOURCE_CHARS} characters")
        limits = limits or self.limits
        submission = json.dumps({"source": source, "calls": [list(call) for call in calls]})
        request = {
            "function": function,
            "wall": limits.wall_seconds,
            "cpu": limits.cpu_seconds,
            "extra_memory": limits.extra_memory_bytes,
            "nproc": limits.processes,
            "file_size": limits.file_bytes,
            "open_files": limits.open_files,
            "max_floats": limits.max_result_floats,
            "max_reply": limits.max_reply_bytes,
        }
        process = self._idle.get()
        try:
            pending = PendingRun(process, request, submission.encode(), len(calls), limits)
            yield pending
            if not pending.done:
                process.kill()  # its report was never read: the pipe is out of step
        finally:
            self._idle.put(process)

    def warm(self) -> None:
        """Start every daemon now rather than on first use."""
        taken = [self._idle.get() for _ in range(self.size)]
        try:
            for process in taken:
                if not process.alive:
                    process.start()
        finally:
            for process in taken:
                self._idle.put(process)

    def close(self) -> None:
        self._closed = True
        for process in self._processes:
            process.kill()

    def __enter__(self) -> SandboxPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class PendingRun:
    """One submission on its way through a daemon, with one retry on a fresh daemon.

    A daemon may die for reasons of its own (killed from outside, the machine's OOM
    killer); a second loss is reported as a sandbox error.
    """

    def __init__(
        self,
        process: SandboxProcess,
        request: dict[str, Any],
        submission: bytes,
        calls: int,
        limits: Limits,
    ) -> None:
        self.process = process
        self.request = request
        self.submission = submission
        self.calls = calls
        self.limits = limits
        self.done = False
        self.sent = self._send()

    def _send(self) -> bool:
        if not self.process.alive:
            self.process.start()
        try:
            self.process.send(self.request, self.submission)
        except DaemonLost:
            return False
        return True

    def result(self) -> SandboxResult:
        """The result, once the child is done (or stopped); SandboxUnavailable if none can start."""
        reply = self._receive() if self.sent else None
        if reply is None and self._send():
            reply = self._receive()
        self.done = True
        if reply is None:
            return SandboxResult(setup="none", stop="sandbox_error", stop_message="the sandbox failed twice")
        if reply.header.get("retire"):
            self.process.kill()  # the daemon asked to be replaced; the next run starts another
        return read_result(reply.header, reply.body, self.calls, self.limits)

    def _receive(self) -> Reply | None:
        try:
            return self.process.receive(self.limits.wall_seconds)
        except DaemonLost:
            return None


def default_size() -> int:
    """Daemons in a pool: one per core this process may run on (``taskset``, a container's
    cpuset), up to 8 (a block of the host's slots)."""
    return max(1, min(len(os.sched_getaffinity(0)), host_slots.SLOTS_PER_BLOCK))


_default: SandboxPool | None = None
_default_claim: host_slots.SlotClaim | None = None
_default_first_slot: int | None = None  # None: the first free block of the host's
_default_lock = threading.Lock()


def default_pool() -> SandboxPool:
    """The process-wide pool, created on first use and closed at exit, on slots it holds
    apart from every other process of the host (see :mod:`.slots`).

    Raises SandboxUnavailable (``SlotsTaken``) when no slots can be held.
    """
    global _default, _default_claim
    with _default_lock:
        if _default is None:
            size = default_size()
            _default_claim = host_slots.claim(size, _default_first_slot)
            _default = SandboxPool(size, first_slot=_default_claim.first)
            atexit.register(_default.close)
        return _default


def use_slots_from(first: int) -> None:
    """Number this process's pool from slot ``first`` rather than a free block of the host's;
    they must be free all the same."""
    global _default_first_slot
    with _default_lock:
        if _default is not None:
            raise RuntimeError("the default sandbox pool is already started")
        _default_first_slot = first


def close_default_pool() -> None:
    """Stop the process-wide pool, if started, and let its slots go (before forking: its
    daemons are this process's)."""
    global _default, _default_claim
    with _default_lock:
        if _default is not None:
            _default.close()
            _default = None
        if _default_claim is not None:
            _default_claim.release()
            _default_claim = None


def _forget_after_fork() -> None:
    # the parent's daemons and their pipes are not the child's to use, nor its slots
    global _default, _default_claim, _default_lock
    if _default_claim is not None:
        _default_claim.forget()
    _default, _default_claim, _default_lock = None, None, threading.Lock()


os.register_at_fork(after_in_child=_forget_after_fork)
