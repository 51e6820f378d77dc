"""The command that starts one daemon under bubblewrap, and whether this machine can run it.

The sandboxed root is built from read-only binds of /usr, the Python prefix and
numpy's own directories; the Python prefix's site-packages is hidden, and neither
the project nor its virtual environment is mounted.

When the grader runs as root, the daemon is started under its own unprivileged
uid (one per pool slot): bubblewrap then sets up an unprivileged user namespace.
Paths such as a Python under /root are not reachable by that uid, so a private
mount namespace first stages each bind source under a fresh tmpfs (``unshare``
and ``mount`` as root, then ``setpriv`` drops to the slot's uid and execs bwrap).
"""

from __future__ import annotations

import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy

from grader.sandbox.limits import SCRATCH_BYTES

SANDBOX_SITE = "/sandbox/site"
SLOT_UID_BASE = 61000  # the daemons' uids when the grader runs as root
BWRAP_SEARCH_PATH = "/usr/bin:/bin"  # where Debian's bubblewrap is, whatever the grader's PATH
# Where the sources are staged, inside the private mount namespace only (the host's directory
# is untouched): the first of these that holds none of them, since the stage's tmpfs hides
# what lies below it (a checkout under /tmp, say).
STAGE_CANDIDATES = ("/tmp", "/mnt", "/media", "/srv", "/run")
HIDDEN_PACKAGE_DIRS = ("/usr/local", "/usr/lib/python3/dist-packages")
DAEMON_SOURCE = Path(__file__).with_name("daemon.py")

STAGE_SCRIPT = """
set -e
STAGE=$1; shift
mount -t tmpfs -o size=64k,mode=755 sandbox-stage "$STAGE"
count=$1; shift
i=0
while [ "$i" -lt "$count" ]; do
  mkdir "$STAGE/$i"
  mount --bind -o ro "$1" "$STAGE/$i"
  shift; i=$((i + 1))
done
exec setpriv --reuid="$SLOT_UID" --regid="$SLOT_UID" --clear-groups \
  --inh-caps=-all --bounding-set=-all -- "$@"
"""


class SandboxUnavailable(RuntimeError):
    """The sandbox cannot run here; no code is ever run without it."""


@dataclass(frozen=True)
class Bind:
    """A host directory mounted read-only at ``target`` inside the sandbox."""

    source: str
    target: str


def python_executable() -> str:
    """The real interpreter behind the (possibly virtual-environment) one running the grader."""
    return os.path.realpath(sys.executable)


def binds() -> list[Bind]:
    prefix = os.path.realpath(sys.base_prefix)
    numpy_dir = Path(numpy.__file__).resolve().parent
    found = [Bind("/usr", "/usr")]
    if not prefix.startswith("/usr/"):
        found.append(Bind(prefix, prefix))
    found.append(Bind(str(numpy_dir), f"{SANDBOX_SITE}/numpy"))
    libs = numpy_dir.with_name("numpy.libs")
    if libs.is_dir():  # the wheel's own OpenBLAS
        found.append(Bind(str(libs), f"{SANDBOX_SITE}/numpy.libs"))
    return found


def hidden_dirs() -> list[str]:
    """Package directories inside the mounted trees, covered by empty tmpfs."""
    prefix = os.path.realpath(sys.base_prefix)
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    candidates = [*HIDDEN_PACKAGE_DIRS, f"{prefix}/lib/{version}/site-packages"]
    return [d for d in candidates if os.path.isdir(d)]


def bwrap_path() -> str:
    found = shutil.which("bwrap", path=os.pathsep.join([os.environ.get("PATH", ""), BWRAP_SEARCH_PATH]))
    if found is None:
        raise SandboxUnavailable(
            "bubblewrap (bwrap) is not installed: run `make system-deps` (Debian package bubblewrap)"
        )
    return found


def bwrap_arguments(sources: list[str]) -> list[str]:
    """bwrap's options, with each bind read from ``sources`` (staged or host paths)."""
    args = [
        "--unshare-all", "--unshare-user", "--disable-userns", "--die-with-parent", "--new-session",
        # the daemon is pid 1 and not dumpable: no process in the sandbox a child could
        # open through /proc/N/mem (bwrap's own reaper would be one)
        "--as-pid-1",
        "--cap-drop", "ALL", "--hostname", "sandbox",
        "--clearenv", "--setenv", "OPENBLAS_NUM_THREADS", "1", "--setenv", "OMP_NUM_THREADS", "1",
        "--setenv", "PATH", "/usr/bin", "--setenv", "LANG", "C.UTF-8", "--setenv", "HOME", "/tmp",
        "--symlink", "usr/lib", "/lib", "--symlink", "usr/lib64", "/lib64",
        "--symlink", "usr/bin", "/bin",
    ]  # fmt: skip
    for bind, source in zip(binds(), sources, strict=True):
        args += ["--ro-bind", source, bind.target]
    for hidden in hidden_dirs():
        args += ["--size", "4096", "--tmpfs", hidden, "--remount-ro", hidden]
    # /dev is a writable tmpfs as bwrap makes it: read-only, its device nodes still work
    args += [
        "--proc", "/proc", "--dev", "/dev", "--remount-ro", "/dev",
        "--size", str(SCRATCH_BYTES), "--tmpfs", "/tmp",
        "--remount-ro", "/", "--chdir", "/tmp",
    ]  # fmt: skip
    return args


def daemon_command(slot: int) -> list[str]:
    """The whole command line of the daemon for pool slot ``slot``."""
    bwrap = bwrap_path()
    program = [python_executable(), "-I", "-S", "-B", "-c", DAEMON_SOURCE.read_text(), SANDBOX_SITE]
    host_sources = [b.source for b in binds()]
    if os.geteuid() != 0:
        return [bwrap, *bwrap_arguments(host_sources), "--", *program]
    for tool in ("unshare", "mount", "setpriv"):
        if shutil.which(tool) is None:
            raise SandboxUnavailable(f"{tool} (util-linux) is missing: it stages the sandbox's root")
    stage = stage_dir(host_sources)
    staged = [f"{stage}/{i}" for i in range(len(host_sources))]
    return [
        "unshare", "--mount", "--propagation", "private", "--",
        "/bin/sh", "-c", STAGE_SCRIPT, "stage", stage, str(len(host_sources)), *host_sources,
        bwrap, *bwrap_arguments(staged), "--", *program,
    ]  # fmt: skip


def stage_dir(sources: list[str]) -> str:
    """A directory to stage ``sources`` in that is not one of their ancestors."""
    for candidate in STAGE_CANDIDATES:
        below = candidate.rstrip("/") + "/"
        if os.path.isdir(candidate) and not any(
            source == candidate or source.startswith(below) for source in sources
        ):
            return candidate
    raise SandboxUnavailable(
        f"no directory to stage the sandbox's root in: each of {', '.join(STAGE_CANDIDATES)} "
        "holds the Python or numpy it must mount"
    )


def daemon_environment(slot: int) -> dict[str, str]:
    """The launcher's environment: nothing of the grader's, in particular no secret."""
    return {
        "PATH": "/usr/sbin:/usr/bin:/sbin:/bin",
        "SLOT_UID": str(SLOT_UID_BASE + slot),
    }
