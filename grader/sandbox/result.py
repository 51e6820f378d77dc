"""What came back from the sandbox, read with suspicion: plain numbers or a reason why not.

The child's frames are untrusted bytes. Every header must be a small JSON object
with a known status; every array a shape of a few small dimensions whose float64
bytes are exactly there. Anything else ends the reading as ``garbled``.
"""

from __future__ import annotations

import json
import math
import signal
import struct
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from grader.sandbox.limits import Limits

_FRAME = struct.Struct(">II")
MAX_HEADER_BYTES = 64 * 1024
MAX_DIMENSIONS = 3
CALL_STATUSES = ("ok", "runtime_error", "memory", "not_array")
SETUP_STATUSES = ("ok", "syntax_error", "missing_function", "runtime_error", "memory", "sandbox_error")
CRASH_SIGNALS = {
    signal.SIGSEGV: "a segmentation fault",
    signal.SIGBUS: "a bus error",
    signal.SIGABRT: "an abort",
    signal.SIGFPE: "a floating-point exception",
    signal.SIGILL: "an illegal instruction",
    signal.SIGXFSZ: "a file larger than the sandbox allows",
}


class Garbled(ValueError):
    """Bytes from the sandbox that are not well-formed frames."""


@dataclass(frozen=True)
class CallOutcome:
    """One call of the submitted function on one instance."""

    status: str  # one of CALL_STATUSES
    value: npt.NDArray[np.float64] | None = None
    message: str = ""

    @property
    def ok(self) -> bool:
        return self.status == "ok"


@dataclass(frozen=True)
class SandboxResult:
    """Everything one submission did in the sandbox, as the grader may trust it.

    ``stop`` says why the run ended early, if it did: ``timeout``, ``memory``,
    ``forbidden`` (a system call the policy kills for), ``crashed``, ``exited``
    (the process ended before returning every result), ``output_limit``,
    ``garbled`` or ``sandbox_error``.
    """

    setup: str  # one of SETUP_STATUSES, or "none" when the child never reported
    setup_message: str = ""
    defined: list[str] = field(default_factory=list)
    calls: list[CallOutcome] = field(default_factory=list)
    stop: str | None = None
    stop_message: str = ""
    elapsed_ms: float = 0.0
    cpu_ms: float = 0.0


def _header(raw: memoryview) -> dict[str, Any]:
    try:
        header = json.loads(raw.tobytes())
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise Garbled(f"unreadable header: {error}") from None
    if not isinstance(header, dict):
        raise Garbled("a header that is not an object")
    return header


def clean_text(text: str, limit: int = 4000) -> str:
    """Text from the sandbox made safe to serialise: lone surrogates replaced, length capped."""
    return text[:limit].encode("utf-8", "replace").decode("utf-8")


def _text(header: dict[str, Any], key: str) -> str:
    value = header.get(key, "")
    return clean_text(value) if isinstance(value, str) else ""


def frames(
    body: bytes | bytearray, most: int, max_bytes: int
) -> Iterator[tuple[dict[str, Any], bytes]]:
    """The child's stream as (header, body) frames, read one at a time as they are asked for.

    At most ``most`` frames within the first ``max_bytes`` bytes: a further frame, or
    a malformed one, raises Garbled. The caller checks each frame before asking for
    the next, so a flood of frames costs no more than its first wrong one. A frame
    cut short by a kill ends the stream silently: the calls it would have reported
    simply did not finish.
    """
    view = memoryview(body)[:max_bytes]
    offset = 0
    count = 0
    while len(view) - offset >= _FRAME.size:
        head_len, body_len = _FRAME.unpack_from(view, offset)
        if head_len > MAX_HEADER_BYTES:
            raise Garbled("a header that is far too long")
        start = offset + _FRAME.size
        end = start + head_len + body_len
        if end > len(view):
            return
        if count == most:
            raise Garbled(f"more than the {most} frames expected")
        count += 1
        yield _header(view[start : start + head_len]), view[start + head_len : end].tobytes()
        offset = end


def _array(header: dict[str, Any], data: bytes, limits: Limits) -> npt.NDArray[np.float64]:
    shape = header.get("shape")
    if (
        not isinstance(shape, list)
        or len(shape) > MAX_DIMENSIONS
        or not all(type(d) is int and 0 <= d <= limits.max_result_floats for d in shape)
    ):
        raise Garbled(f"an array with an impossible shape {shape!r}")
    size = math.prod(shape)
    if size > limits.max_result_floats or len(data) != 8 * size:
        raise Garbled("an array whose bytes do not match its shape")
    return np.frombuffer(data, dtype="<f8").astype(np.float64).reshape(shape)


def _call(header: dict[str, Any], data: bytes, limits: Limits) -> CallOutcome:
    status = header.get("status")
    if status not in CALL_STATUSES:
        raise Garbled(f"an unknown call status {status!r}")
    if status == "ok":
        return CallOutcome("ok", _array(header, data, limits))
    return CallOutcome(status, None, _text(header, "message"))


def read_result(
    daemon_header: dict[str, Any], body: bytes | bytearray, calls: int, limits: Limits
) -> SandboxResult:
    """The result of one run from the daemon's report and the child's frames."""
    setup, setup_message, defined = "none", "", []
    outcomes: list[CallOutcome] = []
    stop, stop_message = _stop(daemon_header, limits)
    try:
        stream = frames(body, most=1 + calls, max_bytes=limits.max_reply_bytes)
        first = next(stream, None)
        if first is not None:
            head = first[0]
            setup = head.get("status")
            if setup not in SETUP_STATUSES:
                raise Garbled(f"an unknown setup status {setup!r}")
            setup_message = _text(head, "message")
            names = head.get("defined", [])
            listed = names[:20] if isinstance(names, list) else []
            defined = [clean_text(n, 100) for n in listed if isinstance(n, str)]
        if setup == "ok":  # after any other setup the child sends nothing more
            for header, data in stream:
                outcomes.append(_call(header, data, limits))
    except Garbled as error:
        if stop is None:
            stop, stop_message = "garbled", f"the results could not be read ({error})"
    cut_short = stop is None and setup == "ok" and len(outcomes) < calls
    if cut_short and outcomes and outcomes[-1].status == "memory":
        stop, stop_message = "memory", "the function ran out of memory; the rest was not run"
    elif cut_short:
        stop = "exited"
        stop_message = "the process ended before returning every result (did the code call exit?)"
    if stop is None and setup == "none":
        stop = "exited"
        stop_message = "the process ended before running the function (did the code call exit?)"
    if setup == "sandbox_error" and stop is None:
        stop, stop_message = "sandbox_error", setup_message
    return SandboxResult(
        setup=setup,
        setup_message=setup_message,
        defined=defined,
        calls=outcomes,
        stop=stop,
        stop_message=stop_message,
        elapsed_ms=float(daemon_header.get("elapsed_ms") or 0.0),
        cpu_ms=float(daemon_header.get("cpu_ms") or 0.0),
    )


def _stop(header: dict[str, Any], limits: Limits) -> tuple[str | None, str]:
    """Why the daemon says the child ended, if it ended abnormally."""
    if header.get("stop") == "timeout":
        return "timeout", f"the code did not finish within {limits.wall_seconds:g} s"
    if header.get("stop") == "overflow":
        return "output_limit", "the function sent back far more data than any answer needs"
    if header.get("stop") == "sandbox_error":
        return "sandbox_error", "the sandbox lost the process meant to run the code"
    number = header.get("signal")
    if number is None:
        code = header.get("exit_code")
        if code not in (0, None):
            return "exited", f"the process exited with status {code} before returning every result"
        return None, ""
    if number == signal.SIGSYS:
        return "forbidden", "the code made a system call the sandbox forbids"
    if number in (signal.SIGXCPU, signal.SIGKILL):
        if float(header.get("cpu_ms") or 0) >= limits.cpu_seconds * 1000 * 0.9:
            return "timeout", f"the code used more than {limits.cpu_seconds} s of CPU time"
        return "crashed", "the process was killed (most likely for using too much memory)"
    what = CRASH_SIGNALS.get(number, f"signal {number}")
    return "crashed", f"the Python process crashed with {what} (deep recursion or ctypes?)"
