"""Sandbox slots shared out among the grader processes of one host.

Each slot runs its daemon as a uid of its own (see :mod:`.launch`), so two processes
of one host must never use the same slot: server workers, ``grader worker`` processes
and a ``grader check`` alike. A process holds its slots by an exclusive ``flock`` on
one lock file per block of :data:`SLOTS_PER_BLOCK` slots, in a folder that every
grader of the host sees (:func:`locks_dir`). Blocks are tried in turn, so a process
takes the lowest free one; the kernel lets the lock go when the process ends, however
it ends, and the next process to start (a respawned worker) takes the block again.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import tempfile
from pathlib import Path

from grader.sandbox.launch import SandboxUnavailable

SLOTS_PER_BLOCK = 8  # the largest default pool (see pool.default_size)
MAX_BLOCKS = 64  # 512 slots: uids SLOT_UID_BASE to SLOT_UID_BASE + 511
RUN_DIR = Path("/run")
#: the environment variable that names the lock folder instead (every grader of a host that
#: shares its slot uids must name the same one)
LOCKS_DIR_VARIABLE = "GRADER_SANDBOX_SLOTS_DIR"


class SlotsTaken(SandboxUnavailable):
    """The slots asked for, or every block of them, are held by other processes of this host."""


def locks_dir() -> Path:
    """Where this host's graders hold their blocks: the folder :data:`LOCKS_DIR_VARIABLE`
    names; else under /run for root, whose slots are uids of their own (/run is the host's,
    where a service's /tmp may be private to it); else the user's own folder of the
    temporary directory, since their daemons share their uid."""
    named = os.environ.get(LOCKS_DIR_VARIABLE)
    if named:
        return Path(named)
    if os.geteuid() == 0 and RUN_DIR.is_dir():
        return RUN_DIR / "grader-sandbox-slots"
    return Path(tempfile.gettempdir()) / f"grader-sandbox-slots-{os.geteuid()}"


class SlotClaim:
    """Slots ``first`` to ``first + size - 1`` of this host, held while the claim's lock
    files stay open: until :meth:`release`, or the process ends."""

    def __init__(self, first: int, size: int, files: list[int]) -> None:
        self.first = first
        self.size = size
        self._files = files

    @property
    def slots(self) -> range:
        return range(self.first, self.first + self.size)

    def release(self) -> None:
        """Let the slots go: the next process to claim takes them."""
        for fd in self._files:
            with contextlib.suppress(OSError):
                fcntl.flock(fd, fcntl.LOCK_UN)
        self.forget()

    def forget(self) -> None:
        """Close this process's copies of the lock files, leaving the locks to the process
        that took them (a forked child: an unlock would free its parent's slots)."""
        for fd in self._files:
            with contextlib.suppress(OSError):
                os.close(fd)
        self._files = []


def claim(size: int, first: int | None = None, directory: Path | None = None) -> SlotClaim:
    """Hold ``size`` slots from ``first``, or from the start of the first block whose slots
    are free. Raises :class:`SlotsTaken` when they are not, and SandboxUnavailable when
    the lock folder cannot be used."""
    if size < 1 or (first is not None and first < 0):
        raise ValueError(f"no slots to hold: {size} from {first}")
    directory = directory or locks_dir()
    try:
        directory.mkdir(mode=0o755 if os.geteuid() == 0 else 0o700, parents=True, exist_ok=True)
        if first is not None:
            held = _hold(directory, first, size)
            if held is None:
                raise SlotsTaken(f"sandbox slots {first} to {first + size - 1} are held by another "
                                 f"process of this host (lock files in {directory})")
            return held
        for block in range(MAX_BLOCKS):
            held = _hold(directory, block * SLOTS_PER_BLOCK, size)
            if held is not None:
                return held
    except OSError as error:
        raise SandboxUnavailable(f"cannot hold sandbox slots in {directory}: {error}") from None
    raise SlotsTaken(f"all {MAX_BLOCKS} blocks of sandbox slots of this host are held "
                     f"(lock files in {directory})")


def _hold(directory: Path, first: int, size: int) -> SlotClaim | None:
    """The claim of every block that slots ``first`` to ``first + size - 1`` touch; None
    when one of them is held (the others are let go again)."""
    blocks = range(first // SLOTS_PER_BLOCK, (first + size - 1) // SLOTS_PER_BLOCK + 1)
    files: list[int] = []
    try:
        for block in blocks:
            fd = os.open(directory / f"block-{block}.lock", os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o644)
            files.append(fd)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as error:
                if error.errno in (errno.EWOULDBLOCK, errno.EAGAIN):
                    SlotClaim(first, size, files).release()
                    return None
                raise
            os.ftruncate(fd, 0)
            os.write(fd, f"{os.getpid()}\n".encode())  # who holds it, for an operator's look
    except BaseException:
        SlotClaim(first, size, files).release()
        raise
    return SlotClaim(first, size, files)
