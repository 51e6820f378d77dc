"""Running function answers isolated: bubblewrap around a warm fork-server, seccomp per child.

``default_pool().run(source, function_name, calls)`` runs a submission on many
argument sets at once and returns a :class:`SandboxResult` of plain float64
arrays; :class:`SandboxUnavailable` means nothing was run.

How it holds together:

- The grader process never forks student code and alone holds the expected
  answers. It talks over pipes to a few daemons (:mod:`.pool`, :mod:`.client`).
- Each daemon is a Python started by bubblewrap (:mod:`.launch`) in new user,
  pid, net, ipc, uts, cgroup and mount namespaces, with a clean environment, a
  read-only root of /usr, the Python prefix (its site-packages hidden) and numpy
  alone, a small tmpfs as scratch, no capabilities and, when the grader is root,
  its own unprivileged uid. It is pid 1 of its namespace and not dumpable.
  Each daemon has a slot, and the slots of a host's processes are apart: each
  holds a block of its own for its life (:mod:`.slots`).
- The daemon (:mod:`.daemon`) imports numpy once and forks one child per
  submission ahead of time. The child sets its rlimits, loads the seccomp
  allowlist compiled once by libseccomp on the grader's side (:mod:`.policy`),
  runs the source and calls the function on each argument set, and writes back
  plain float64 bytes. The daemon kills it at the wall-clock deadline; the
  grader kills a daemon that stops answering and starts another.
- What comes back is read with suspicion (:mod:`.result`): frames of known
  statuses, small shapes, exact byte counts; nothing is unpickled.
"""

from grader.sandbox.launch import SandboxUnavailable
from grader.sandbox.limits import Limits
from grader.sandbox.pool import SandboxPool, default_pool
from grader.sandbox.result import CallOutcome, SandboxResult

__all__ = [
    "CallOutcome",
    "Limits",
    "SandboxPool",
    "SandboxResult",
    "SandboxUnavailable",
    "default_pool",
]
