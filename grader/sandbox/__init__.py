"""Running function answers isolated: bubblewrap around a warm fork-server, seccomp per child.

``default_pool().run(source, function_name, calls)`` runs a submission on many
argument sets at once and returns a :class:`SandboxResult` of plain float64
arrays; :class:`SandboxUnavailable` means nothing was run.
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
