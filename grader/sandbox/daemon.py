"""The fork server that runs inside the sandbox: numpy imported once, one child per submission.

This file is passed to the sandboxed Python as its ``-c`` program. It runs under
bubblewrap on a read-only root holding only the standard library and numpy, so
it imports nothing from the project (the project is not there to import).

Frames, both ways: 4-byte big-endian header length, 4-byte body length, a JSON
header, the body bytes. The grader sends ``configure`` (body: the compiled
seccomp program) and then ``run`` requests (header: the function's name and the
limits; body: JSON of the source and the calls); each ``run`` is answered with
the child's fate in the header and, as the body, the frames the child wrote (one
per stage: setup, then one per call, each a JSON header and float64 bytes). A
child that has written everything says so on a pipe of its own, and is answered
for at once: its exit, which takes a while, is awaited after the reply.
"""

import contextlib
import ctypes
import fcntl
import gc
import json
import linecache
import mmap
import os
import resource
import select
import signal
import struct
import sys
import time
import traceback

PROTOCOL_IN = 0
PROTOCOL_OUT = 1
SUBMISSION_FILE = "<submission>"
SCRATCH_ROOT = "/tmp"  # the sandbox's only writable place, a size-limited tmpfs
MAX_SCRATCH_ENTRIES = 2000
MAX_MESSAGE_CHARS = 2000
MAX_TRACEBACK_FRAMES = 8
QUIET_SECONDS = 0.05
PIPE_BYTES = 1 << 20
MAX_FD = 1 << 16
COLLECT_EVERY = 1000  # submissions  # the pipe may hold a whole ordinary suite's results
F_SETPIPE_SZ = 1031

PR_SET_DUMPABLE = 4
PR_SET_NO_NEW_PRIVS = 38
PR_SET_SECCOMP = 22
SECCOMP_MODE_FILTER = 2

_FRAME = struct.Struct(">II")
DONE = struct.Struct(">Qd")  # a mark, then the child's CPU seconds
DONE_MARK = 0x646F6E65


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


# ---- framing ----------------------------------------------------------------------------


def frame(header, body=b""):
    head = json.dumps(header).encode()
    return _FRAME.pack(len(head), len(body)) + head + body


def read_exactly(fd, count):
    chunks = []
    while count:
        chunk = os.read(fd, min(count, 1 << 20))
        if not chunk:
            raise EOFError
        chunks.append(chunk)
        count -= len(chunk)
    return b"".join(chunks)


def read_frame(fd):
    head_len, body_len = _FRAME.unpack(read_exactly(fd, _FRAME.size))
    return json.loads(read_exactly(fd, head_len)), read_exactly(fd, body_len)


def write_all(fd, data):
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


# ---- the child: everything after fork runs the student's code -----------------------------


class _Sink:
    """sys.stdout and sys.stderr for the submission: kept nowhere, never reaching the grader."""

    def write(self, text):
        return len(text)

    def flush(self):
        pass

    def isatty(self):
        return False


def student_traceback(error):
    """The submission's own frames and the exception, never the daemon's."""
    frames = [f for f in traceback.extract_tb(error.__traceback__) if f.filename == SUBMISSION_FILE]
    lines = []
    for f in frames[-MAX_TRACEBACK_FRAMES:]:
        code = f"\n    {f.line.strip()}" if f.line else ""
        lines.append(f"  line {f.lineno}, in {f.name}{code}")
    try:
        text = str(error)
    except BaseException:  # a student's exception whose __str__ raises
        text = ""
    message = f"{type(error).__name__}: {text}" if text else type(error).__name__
    if len(message) > MAX_MESSAGE_CHARS:
        message = message[:MAX_MESSAGE_CHARS] + " ..."
    head = "Traceback (your code, most recent call last):\n" if lines else ""
    return head + "\n".join(lines) + ("\n" if lines else "") + message


def error_header(error):
    if isinstance(error, MemoryError):
        return {"status": "memory", "message": "the function ran out of memory"}
    return {"status": "runtime_error", "message": student_traceback(error)}


class NotAnArray(ValueError):
    """A returned value that is no array of numbers (not an error raised by the student's code)."""


def raised_in_submission(error):
    return any(f.filename == SUBMISSION_FILE for f in traceback.extract_tb(error.__traceback__))


def plain_array(np, value, max_floats):
    """The returned value as a plain C-ordered float64 ndarray, or a NotAnArray saying why not.

    Subclasses are viewed as the base class through numpy's own C methods, so a
    subclass's overrides are never asked; lists and objects with ``__array__`` are
    converted by numpy, and whatever they yield is only ever numbers.
    """
    if value is None:
        raise NotAnArray("the function returned None: return an array (did you forget `return`?)")
    if isinstance(value, np.ndarray):
        value = np.ndarray.view(value, np.ndarray)
        if value.dtype.kind == "c":
            raise NotAnArray("the returned value could not be read as an array of numbers: complex")
    if isinstance(value, (str, bytes, dict, set)):
        raise NotAnArray(f"the function returned a {type(value).__name__}, not an array")
    try:
        array = np.array(value, dtype=np.float64, copy=True, subok=False)
    except (TypeError, ValueError, OverflowError) as error:
        if raised_in_submission(error):  # the student's own __float__ or __array__ failed: theirs to see
            raise
        raise NotAnArray(f"the returned value could not be read as an array of numbers: {error}") from None
    array = np.ndarray.view(array, np.ndarray)
    if array.ndim > 3 or array.size > max_floats:
        raise NotAnArray(f"the returned array is far too large (shape {array.shape})")
    return np.asarray(array, dtype="<f8", order="C")  # ascontiguousarray would make a number a vector


class Seccomp:
    """The compiled filter and the prctl to load it, made ready once in the daemon."""

    def __init__(self, program):
        self.libc = ctypes.CDLL(None, use_errno=True)
        self.libc.prctl.argtypes = [ctypes.c_int] + [ctypes.c_ulong] * 4
        self.buffer = ctypes.create_string_buffer(program, len(program))
        self.fprog = _SockFprog(len(program) // 8, ctypes.addressof(self.buffer))
        self.address = ctypes.addressof(self.fprog)

    def load(self):
        if self.libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "no_new_privs refused")
        if self.libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, self.address, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "seccomp filter refused")


def address_space():
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")


def set_limits(request, mapped):
    # numpy is already mapped: the submission's allowance comes on top of it
    memory = mapped + request["extra_memory"]
    cpu = request["cpu"]
    for which, value in (
        (resource.RLIMIT_AS, memory),
        (resource.RLIMIT_CPU, (cpu, cpu + 1)),
        (resource.RLIMIT_NPROC, request["nproc"]),
        (resource.RLIMIT_FSIZE, request["file_size"]),
        (resource.RLIMIT_NOFILE, request["open_files"]),
        (resource.RLIMIT_CORE, 0),
    ):
        soft, hard = value if isinstance(value, tuple) else (value, value)
        resource.setrlimit(which, (soft, hard))


def spare_child(np, seccomp, mapped, control, out, done, scratch):
    """A child forked ahead of its submission: wait for it, lock down, run it; never returns."""
    try:
        request, body = read_frame(control)
    except (EOFError, OSError):
        os._exit(0)
    try:
        os.close(control)
        request.update(json.loads(body))
        del body
        os.chdir(scratch)
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)
        set_limits(request, mapped)
        sys.stdout = sys.stderr = _Sink()
        sys.stdin = None
        seccomp.load()
    except BaseException as error:
        write_all(out, frame({"status": "sandbox_error", "message": repr(error)}))
        os._exit(0)
    run_submission(np, request, out)
    os.write(done, DONE.pack(DONE_MARK, time.process_time()))
    os._exit(0)


def run_submission(np, request, out):
    name = request["function"]
    namespace = {"__name__": "submission", "__builtins__": __builtins__}
    try:
        code = compile(request["source"], SUBMISSION_FILE, "exec")
    except SyntaxError as error:
        where = f"line {error.lineno}" + (f", column {error.offset}" if error.offset else "")
        text = (error.text or "").rstrip()
        message = f"{type(error).__name__} at {where}: {error.msg}" + (f"\n    {text}" if text else "")
        write_all(out, frame({"status": "syntax_error", "message": message}))
        return
    except (ValueError, MemoryError, RecursionError) as error:
        write_all(out, frame({"status": "syntax_error", "message": f"{type(error).__name__}: {error}"}))
        return
    source = request["source"]
    # the submission's own lines, for its tracebacks
    linecache.cache[SUBMISSION_FILE] = (len(source), None, source.splitlines(True), SUBMISSION_FILE)
    try:
        exec(code, namespace)
    except BaseException as error:
        write_all(out, frame(error_header(error)))
        return
    function = namespace.get(name)
    if not callable(function):
        defined = sorted(k for k, v in namespace.items() if callable(v) and not k.startswith("__"))
        write_all(out, frame({"status": "missing_function", "defined": defined[:20]}))
        return
    write_all(out, frame({"status": "ok"}))
    for call in request["calls"]:
        arguments = [np.array(a, dtype=np.float64) if isinstance(a, list) else a for a in call]
        try:
            value = function(*arguments)
        except MemoryError as error:
            # memory once exhausted is exhausted again: the remaining calls are not run
            write_all(out, frame(error_header(error)))
            return
        except BaseException as error:
            write_all(out, frame(error_header(error)))
            continue
        try:
            array = plain_array(np, value, request["max_floats"])
        except NotAnArray as error:
            write_all(out, frame({"status": "not_array", "message": str(error)}))
            continue
        except BaseException as error:  # a returned object whose conversion raised
            write_all(out, frame(error_header(error)))
            continue
        write_all(out, frame({"status": "ok", "shape": list(array.shape)}, array.tobytes()))


# ---- the daemon -----------------------------------------------------------------------------


class Buffer:
    """Bytes of one submission, held in an anonymous mapping that is unmapped afterwards.

    Sources, arguments and results pass through the daemon only in these, never in
    Python bytes objects whose freed memory a later child would inherit by fork.
    """

    def __init__(self, capacity):
        self.map = mmap.mmap(-1, max(capacity, 1))
        self.view = memoryview(self.map)
        self.size = 0

    def read_from(self, fd, most):
        """Append up to ``most`` bytes read from ``fd``; the count read, 0 at end of file."""
        count = os.readv(fd, [self.view[self.size : self.size + most]])
        self.size += count
        return count

    def fill_from(self, fd, count):
        while self.size < count:
            if not self.read_from(fd, count - self.size):
                raise EOFError

    def data(self):
        return self.view[: self.size]

    def close(self):
        if not self.map.closed:
            self.view.release()
            self.map.close()


def collect(results, done, pid, deadline, buffer):
    """The child's frames until it is done, dies, passes the deadline or writes too much.

    Most submissions finish within QUIET_SECONDS: until then only the child's end
    is watched, and its frames wait in the (enlarged) pipe, so that each frame it
    writes does not wake this process. Past that, frames are read as they come.

    Returns why it stopped early (or None) and, when the child said it was done,
    the CPU seconds it reported: then its exit need not be waited for.
    """
    capacity = len(buffer.map)
    pidfd = os.pidfd_open(pid)
    stop, finished = None, None
    watching = [results, done, pidfd]
    try:
        quiet = min(deadline, time.monotonic() + QUIET_SECONDS) - time.monotonic()
        ready, _, _ = select.select([done, pidfd], [], [], max(quiet, 0))
        while True:
            if done in ready:
                finished = read_done(done)
                if finished is not None:
                    break
                watching.remove(done)  # closed without a word: the child died, see pidfd
            if pidfd in ready:
                break
            if results in ready:
                if buffer.size >= capacity:
                    stop = "overflow"
                    break
                if not buffer.read_from(results, capacity - buffer.size):
                    watching.remove(results)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                stop = "timeout"
                break
            ready, _, _ = select.select(watching, [], [], remaining)
        if stop is not None:
            os.kill(pid, signal.SIGKILL)
        if stop != "overflow":  # what the child wrote before it ended or was stopped
            os.set_blocking(results, False)
            with contextlib.suppress(BlockingIOError):
                while buffer.size < capacity and buffer.read_from(results, capacity - buffer.size):
                    pass
    finally:
        os.close(pidfd)
    return stop, finished


def read_done(done):
    """The CPU seconds a child reports when done, or None if it closed the pipe unheard.

    A submission could forge this early; all it gains is to end its own run.
    """
    data = os.read(done, DONE.size)
    if len(data) != DONE.size:
        return None
    mark, cpu = DONE.unpack(data)
    if mark != DONE_MARK:
        return None
    return cpu if 0 <= cpu < 1e6 else 0.0


def remove_tree(path):
    if os.path.islink(path) or not os.path.isdir(path):
        with contextlib.suppress(OSError):
            os.unlink(path)
        return
    with contextlib.suppress(OSError):
        os.chmod(path, 0o700)
    with contextlib.suppress(OSError):
        for name in os.listdir(path):
            remove_tree(os.path.join(path, name))
    with contextlib.suppress(OSError):
        os.rmdir(path)


class Spare:
    """A child forked before its submission arrives, so that fork costs no one's wait."""

    def __init__(self, np, seccomp, counter):
        # objects the child inherits stay out of its collections: fewer copy-on-write faults;
        # now and then the daemon's own cyclic garbage, frozen meanwhile, is collected
        if counter % COLLECT_EVERY == 0:
            gc.unfreeze()
            gc.collect()
        gc.freeze()
        mapped = address_space()
        self.scratch = f"{SCRATCH_ROOT}/run-{counter}"
        os.mkdir(self.scratch, 0o700)
        control_read, self.control = os.pipe()
        self.results, results_write = os.pipe()
        self.done, done_write = os.pipe()
        with contextlib.suppress(OSError):  # above /proc/sys/fs/pipe-max-size: keep the default
            fcntl.fcntl(results_write, F_SETPIPE_SZ, PIPE_BYTES)
        self.pid = os.fork()
        if self.pid == 0:
            try:
                # only its own pipes: the protocol and anything else of the daemon's are closed
                keep = sorted((control_read, results_write, done_write))
                for low, high in zip([2, *keep], [*keep, MAX_FD], strict=True):
                    os.closerange(low + 1, high)
                spare_child(np, seccomp, mapped, control_read, results_write, done_write, self.scratch)
            finally:
                os._exit(70)
        os.close(control_read)
        os.close(results_write)
        os.close(done_write)

    def run(self, request, body):
        """Hand the submission over and wait for the child; the report and its frames.

        A child that says it is done is reported at once; :meth:`reap` waits for its
        exit afterwards, while the grader reads the report.
        """
        started = time.monotonic()
        buffer = Buffer(request["max_reply"])
        try:
            write_all(self.control, frame_prefix(request, len(body)))
            write_all(self.control, body)
            stop, finished = collect(self.results, self.done, self.pid, started + request["wall"], buffer)
        except OSError:  # the spare died before taking its submission
            os.kill(self.pid, signal.SIGKILL)
            stop, finished = "sandbox_error", None
        finally:
            for fd in (self.control, self.results, self.done):
                os.close(fd)
        header = {"stop": stop, "exit_code": 0, "signal": None}
        if finished is None:
            status, usage = self.reap()
            header["exit_code"] = os.WEXITSTATUS(status) if os.WIFEXITED(status) else None
            header["signal"] = os.WTERMSIG(status) if os.WIFSIGNALED(status) else None
            finished = usage.ru_utime + usage.ru_stime
        header["elapsed_ms"] = (time.monotonic() - started) * 1000
        header["cpu_ms"] = finished * 1000
        return header, buffer

    def reap(self):
        """The child's exit status and resource usage; it is killed first if still there."""
        if self.pid is None:
            return None, None
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGKILL)  # done, or forged done: either way it is over
        _, status, usage = os.wait4(self.pid, 0)
        self.pid = None
        return status, usage


def frame_prefix(header, body_length):
    head = json.dumps(header).encode()
    return _FRAME.pack(len(head), body_length) + head


def scratch_crowded():
    """Whether a child left so many files that removing them one by one would stall this daemon."""
    count = 0
    for directory in [SCRATCH_ROOT, *(e.path for e in os.scandir(SCRATCH_ROOT) if e.is_dir())]:
        with contextlib.suppress(OSError), os.scandir(directory) as entries:
            for _ in entries:
                count += 1
                if count > MAX_SCRATCH_ENTRIES:
                    return True
    return False


def clear_scratch():
    """Everything a child left anywhere in the writable tmpfs, not only in its own directory."""
    for name in os.listdir(SCRATCH_ROOT):
        remove_tree(os.path.join(SCRATCH_ROOT, name))


def main():
    sys.path.insert(0, sys.argv[1])
    import numpy as np

    libc = ctypes.CDLL(None)
    # Children inherit this: none of them may open this daemon's /proc files or memory.
    libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)
    protocol_in = os.dup(PROTOCOL_IN)
    protocol_out = os.dup(PROTOCOL_OUT)
    devnull = os.open("/dev/null", os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    os.close(devnull)
    write_all(protocol_out, frame({"ready": True, "numpy": np.__version__}))
    seccomp, spare, counter = None, None, 0
    while True:
        try:
            head_len, body_len = _FRAME.unpack(read_exactly(protocol_in, _FRAME.size))
            request = json.loads(read_exactly(protocol_in, head_len))
            body = Buffer(body_len)
            body.fill_from(protocol_in, body_len)
        except EOFError:
            return
        if request["op"] == "configure":
            seccomp = Seccomp(body.data().tobytes())
            counter += 1
            spare = Spare(np, seccomp, counter)
            write_all(protocol_out, frame({"configured": True}))
        elif request["op"] == "run" and spare is not None:
            header, results = spare.run(request, body.data())
            # a flooded scratch goes with this whole sandbox, faster than file by file
            header["retire"] = scratch_crowded()
            write_all(protocol_out, frame_prefix(header, results.size))
            write_all(protocol_out, results.data())
            results.close()
            body.close()  # before the next fork: no child inherits another's submission
            spare.reap()
            if header["retire"]:
                return
            clear_scratch()
            counter += 1
            spare = Spare(np, seccomp, counter)
        else:
            write_all(protocol_out, frame({"error": f"cannot {request['op']!r} now"}))
        body.close()  # closing twice is harmless


if __name__ == "__main__":
    main()
