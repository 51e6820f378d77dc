"""The seccomp allowlist every submission runs under, compiled once on the grader's side.

libseccomp (through pyseccomp) compiles the policy to a BPF program here, where the
library is installed; the daemon inside the sandbox only hands those bytes to the
kernel in each child, which costs one prctl and needs no library there.

System calls that only an escape or an attack needs kill the process (the grader
reports ``forbidden``); anything else not on the list fails with EPERM, so that
harmless probing by the standard library degrades gracefully. Files may be
written in the scratch tmpfs, but no directory made: the daemon's cleanup never
meets a tree deeper than one level.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import tempfile
from typing import Any

CLONE_THREAD = 0x00010000

ALLOWED = (
    # memory
    "brk", "mmap", "munmap", "mremap", "mprotect", "madvise", "msync", "mincore",
    # files, within the read-only root and the scratch directory
    "read", "write", "readv", "writev", "pread64", "pwrite64", "lseek", "close",
    "fstat", "stat", "lstat", "newfstatat", "statx", "fstatfs", "statfs",
    "open", "openat", "access", "faccessat", "faccessat2", "getdents64", "getcwd",
    "chdir", "fchdir", "readlink", "readlinkat", "rmdir",
    "unlink", "unlinkat", "rename", "renameat", "renameat2", "ftruncate", "fsync",
    "fdatasync", "fcntl", "dup", "dup2", "dup3", "ioctl", "umask",
    "select", "pselect6", "poll", "ppoll",
    # signals to itself, time, identity
    "rt_sigaction", "rt_sigprocmask", "rt_sigreturn", "sigaltstack", "rt_sigpending",
    "rt_sigsuspend", "rt_sigtimedwait", "pause", "alarm", "getitimer", "setitimer",
    "clock_gettime", "clock_getres", "gettimeofday", "time", "nanosleep", "clock_nanosleep",
    "getpid", "gettid", "getppid", "getuid", "geteuid", "getgid", "getegid", "getgroups",
    "getresuid", "getresgid", "getpgrp", "getpgid", "getsid", "uname", "sysinfo",
    "getrusage", "times", "getrandom", "getcpu", "sched_getaffinity", "sched_yield",
    "sched_getparam", "sched_getscheduler", "getpriority",
    # threads
    "futex", "set_robust_list", "get_robust_list", "set_tid_address", "rseq",
    "membarrier", "wait4", "waitid", "arch_prctl",
    "exit", "exit_group",
)  # fmt: skip

FORBIDDEN = (
    "execve", "execveat", "fork", "vfork", "ptrace", "process_vm_readv", "process_vm_writev",
    "kill", "tkill", "tgkill", "rt_sigqueueinfo", "rt_tgsigqueueinfo",
    "pidfd_open", "pidfd_send_signal", "pidfd_getfd",
    "socket", "socketpair", "connect", "bind", "listen", "accept", "accept4",
    "sendto", "recvfrom", "sendmsg", "recvmsg", "sendmmsg", "recvmmsg",
    "setrlimit", "mount", "umount2", "unshare", "setns", "pivot_root", "chroot",
    "bpf", "perf_event_open", "keyctl", "add_key", "request_key", "userfaultfd",
    "io_uring_setup", "io_uring_enter", "io_uring_register",
    "init_module", "finit_module", "delete_module", "kexec_load", "kexec_file_load",
    "reboot", "swapon", "swapoff", "iopl", "ioperm", "personality",
    "setuid", "setgid", "setreuid", "setregid", "setresuid", "setresgid", "setgroups",
    "setfsuid", "setfsgid", "capset", "seccomp", "open_by_handle_at", "name_to_handle_at",
    "move_pages", "migrate_pages", "mbind", "set_mempolicy",
)  # fmt: skip


def _add(rules: Any, action: int, name: str, *args: Any) -> None:
    with contextlib.suppress(OSError, ValueError, RuntimeError):  # a name this architecture lacks
        rules.add_rule(action, name, *args)


@functools.cache
def compiled_policy() -> bytes:
    """The BPF program, ready for ``prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ...)``."""
    import pyseccomp as seccomp  # here: finding libseccomp runs ldconfig, once, when needed

    rules = seccomp.SyscallFilter(seccomp.ERRNO(errno.EPERM))
    rules.set_attr(seccomp.Attr.ACT_BADARCH, seccomp.KILL_PROCESS)
    for name in ALLOWED:
        _add(rules, seccomp.ALLOW, name)
    for name in FORBIDDEN:
        _add(rules, seccomp.KILL_PROCESS, name)
    # threads yes, new processes no: clone is allowed only with CLONE_THREAD
    _add(rules, seccomp.ALLOW, "clone", seccomp.Arg(0, seccomp.MASKED_EQ, CLONE_THREAD, CLONE_THREAD))
    _add(rules, seccomp.KILL_PROCESS, "clone", seccomp.Arg(0, seccomp.MASKED_EQ, CLONE_THREAD, 0))
    # clone3 hides its flags in memory: ENOSYS makes glibc fall back to clone
    _add(rules, seccomp.ERRNO(errno.ENOSYS), "clone3")
    # reading a limit is fine; raising or setting one is not
    _add(rules, seccomp.ALLOW, "prlimit64", seccomp.Arg(2, seccomp.EQ, 0))
    _add(rules, seccomp.KILL_PROCESS, "prlimit64", seccomp.Arg(2, seccomp.NE, 0))
    _add(rules, seccomp.ALLOW, "getrlimit")
    # prctl: only what Python's threading and numpy ask for (thread names, reading flags)
    for option in (15, 16):  # PR_SET_NAME, PR_GET_NAME
        _add(rules, seccomp.ALLOW, "prctl", seccomp.Arg(0, seccomp.EQ, option))
    with tempfile.TemporaryFile() as out:
        rules.export_bpf(out)
        out.seek(0)
        return out.read()
