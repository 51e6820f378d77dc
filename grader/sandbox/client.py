"""One sandbox daemon seen from the grader: start it, send it a submission, kill it.

The grader never forks student code: it talks to the daemon over two pipes and
holds the expected answers itself. A daemon that does not answer in time is
killed whole (bubblewrap and everything under it) and started again on next use.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import signal
import struct
import subprocess
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from grader.sandbox.launch import SandboxUnavailable, daemon_command, daemon_environment
from grader.sandbox.limits import MAX_REPLY_BYTES
from grader.sandbox.policy import compiled_policy

_FRAME = struct.Struct(">II")
START_SECONDS = 20.0
GRACE_SECONDS = 3.0  # on top of a run's wall limit, for the daemon's own work
BWRAP_EXIT_SECONDS = 2.0
MAX_DAEMON_HEADER = 64 * 1024
MAX_DAEMON_BODY = MAX_REPLY_BYTES + (1 << 20)

# bwrap's --die-with-parent is tied to the thread that forked it: daemons are
# started from this one long-lived thread, so that a web worker thread ending
# does not take its daemon with it.
_launcher = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sandbox-launcher")


def _new_launcher_after_fork() -> None:
    # a forked process has none of its parent's threads: the old executor would never run
    global _launcher
    _launcher = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sandbox-launcher")


os.register_at_fork(after_in_child=_new_launcher_after_fork)


class DaemonLost(RuntimeError):
    """The daemon died, hung or spoke nonsense; it has been killed."""


@dataclass(frozen=True)
class Reply:
    """The daemon's report on one run and the child's raw frames."""

    header: dict[str, Any]
    body: bytes | bytearray


def _frame(header: dict[str, Any], body: bytes = b"") -> bytes:
    head = json.dumps(header).encode()
    return _FRAME.pack(len(head), len(body)) + head + body


def _children(pid: int) -> list[int]:
    try:
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except (OSError, ValueError):
        return []


def _kill_children(pid: int) -> None:
    """SIGKILL the daemon under bubblewrap first: its namespace dies and bwrap reaps it.

    Killing bwrap alone would leave the daemon to die of bwrap's death and be reaped
    by whatever init the host has. A pidfd, checked to be still bwrap's child, makes
    sure no recycled pid is ever signalled.
    """
    for child in _children(pid):
        try:
            pidfd = os.pidfd_open(child)
        except OSError:
            continue
        try:
            if child in _children(pid):
                signal.pidfd_send_signal(pidfd, signal.SIGKILL)
        except OSError:
            pass
        finally:
            os.close(pidfd)


class SandboxProcess:
    """One warm daemon for pool slot ``slot``; not thread-safe (the pool hands it to one caller)."""

    def __init__(self, slot: int) -> None:
        self.slot = slot
        self._process: subprocess.Popen[bytes] | None = None
        self._errors: Any = None
        self._sent_at = 0.0
        self.numpy_version: str | None = None

    @property
    def alive(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def start(self) -> None:
        """Start the daemon and wait until numpy is imported; SandboxUnavailable if it cannot."""
        self.kill()
        command = daemon_command(self.slot)
        errors = tempfile.TemporaryFile()  # noqa: SIM115 (kept open as long as the daemon lives)
        try:
            self._process = _launcher.submit(self._spawn, command, errors).result()
        except OSError as error:
            errors.close()
            raise SandboxUnavailable(f"could not start bubblewrap: {error}") from None
        self._errors = errors
        try:
            ready, _ = self._read_frame(time.monotonic() + START_SECONDS)
            if not ready.get("ready"):
                raise DaemonLost("no greeting")
            self.numpy_version = ready.get("numpy")
            self._send({"op": "configure"}, compiled_policy())
            configured, _ = self._read_frame(time.monotonic() + START_SECONDS)
            if not configured.get("configured"):
                raise DaemonLost("configuration refused")
        except DaemonLost:
            said = self._stderr()
            self.kill()
            raise SandboxUnavailable(said or "the sandbox daemon did not start") from None

    def _spawn(self, command: list[str], errors: Any) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            command,
            stdin=subprocess.PIPE,
            bufsize=0,
            stdout=subprocess.PIPE,
            stderr=errors,
            env=daemon_environment(self.slot),
            close_fds=True,
            start_new_session=True,
        )

    def _stderr(self) -> str:
        if self._errors is None:
            return ""
        with contextlib.suppress(OSError, ValueError):
            self._errors.seek(0)
            text: str = self._errors.read(4000).decode(errors="replace").strip()
            return " ".join(text.split())
        return ""

    def send(self, request: dict[str, Any], submission: bytes) -> None:
        """Send one submission: its limits, and its source and calls as JSON.

        The report must then be read with :meth:`receive`. Raises DaemonLost.
        """
        if not self.alive:
            raise DaemonLost("the daemon is not running")
        try:
            self._send({"op": "run", **request}, submission)
        except DaemonLost:
            self.kill()
            raise
        self._sent_at = time.monotonic()

    def receive(self, wall_seconds: float) -> Reply:
        """The report on the submission sent last; DaemonLost if it does not come in time."""
        try:
            header, body = self._read_frame(self._sent_at + wall_seconds + GRACE_SECONDS)
        except DaemonLost:
            self.kill()
            raise
        if "error" in header:
            self.kill()
            raise DaemonLost(str(header["error"]))
        return Reply(header, body)

    def kill(self) -> None:
        """Kill the daemon and everything under it (bubblewrap's pid namespace goes with it)."""
        process, self._process = self._process, None
        if process is not None:
            _kill_children(process.pid)
            for stream in (process.stdin, process.stdout):
                with contextlib.suppress(OSError):
                    stream.close()  # type: ignore[union-attr]
            try:  # bwrap reaps the daemon and exits of itself
                process.wait(timeout=BWRAP_EXIT_SECONDS)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(process.pid, signal.SIGKILL)
                with contextlib.suppress(ProcessLookupError):
                    process.kill()
                with contextlib.suppress(subprocess.TimeoutExpired):
                    process.wait(timeout=5)
        if self._errors is not None:
            self._errors.close()
            self._errors = None

    # ---- framing with deadlines -----------------------------------------------------------

    def _send(self, header: dict[str, Any], body: bytes = b"") -> None:
        assert self._process is not None and self._process.stdin is not None
        fd = self._process.stdin.fileno()
        try:
            view = memoryview(_frame(header, body))
            while view:
                view = view[os.write(fd, view) :]
        except OSError as error:
            raise DaemonLost(f"the daemon stopped reading: {error}") from None

    def _read_exactly(self, count: int, deadline: float) -> bytearray:
        assert self._process is not None and self._process.stdout is not None
        fd = self._process.stdout.fileno()
        # read in place: a reply of many megabytes is held once, not as chunks and their join
        received = bytearray(count)
        view = memoryview(received)
        got = 0
        while got < count:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise DaemonLost("the daemon did not answer in time")
            ready, _, _ = select.select([fd], [], [], remaining)
            if not ready:
                continue
            read = os.readv(fd, [view[got:]])
            if not read:
                raise DaemonLost("the daemon closed its pipe")
            got += read
        view.release()
        return received

    def _read_frame(self, deadline: float) -> tuple[dict[str, Any], bytearray]:
        head_len, body_len = _FRAME.unpack(self._read_exactly(_FRAME.size, deadline))
        if head_len > MAX_DAEMON_HEADER:
            raise DaemonLost("the daemon sent a header far too long")
        if body_len > MAX_DAEMON_BODY:
            raise DaemonLost("the daemon sent a body far too long")
        try:
            header = json.loads(self._read_exactly(head_len, deadline))
        except ValueError:
            raise DaemonLost("the daemon sent an unreadable header") from None
        if not isinstance(header, dict):
            raise DaemonLost("the daemon sent a header that is not an object")
        return header, self._read_exactly(body_len, deadline)

