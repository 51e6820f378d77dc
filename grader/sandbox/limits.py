"""What one submission may use inside the sandbox."""

from __future__ import annotations

from dataclasses import dataclass

MIB = 1 << 20

WALL_SECONDS = 2.0
CPU_SECONDS = 2
# numpy is already imported in the forked child, whose address space starts near
# the daemon's; this is what the submission may add on top of it.
EXTRA_MEMORY_BYTES = 256 * MIB
MAX_RESULT_FLOATS = 1 << 20  # one returned array: 8 MiB of float64
# everything one submission sends back: the largest answer of the catalog is K x K*n
# floats (2 MiB at K = n = 64), the rest of a hidden suite a few kilobytes; what a
# flood of frames can make the grader hold is this much
MAX_REPLY_BYTES = 12 * MIB
MAX_SOURCE_CHARS = 100_000
PROCESSES = 64  # threads count too; new processes are refused by seccomp anyway
FILE_BYTES = 4 * MIB
OPEN_FILES = 64
SCRATCH_BYTES = 16 * MIB


@dataclass(frozen=True)
class Limits:
    """Per-submission limits; the defaults are the service's."""

    wall_seconds: float = WALL_SECONDS
    cpu_seconds: int = CPU_SECONDS
    extra_memory_bytes: int = EXTRA_MEMORY_BYTES
    max_result_floats: int = MAX_RESULT_FLOATS
    max_reply_bytes: int = MAX_REPLY_BYTES
    processes: int = PROCESSES
    file_bytes: int = FILE_BYTES
    open_files: int = OPEN_FILES

    def __post_init__(self) -> None:
        if self.wall_seconds <= 0 or self.cpu_seconds <= 0:
            raise ValueError("wall_seconds and cpu_seconds must be positive")
        if self.extra_memory_bytes < 64 * MIB:
            raise ValueError("extra_memory_bytes below 64 MiB leaves numpy unable to work")
