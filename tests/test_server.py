"""The supervisor of ``grader serve --workers``: its socket, its workers' lives and deaths.

The whole server under load, killed and restarted, is in test_live_server.py.
"""

from __future__ import annotations

import os
import signal
import socket

import pytest

from grader import server
from tests.conftest import alive, wait_for


def forked(child) -> int:
    """The exit status of ``child()`` run in a forked process."""
    pid = os.fork()
    if pid == 0:
        try:
            child()
        finally:
            os._exit(0)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)


def test_a_worker_whose_supervisor_is_gone_ends_itself():
    parent = os.getpid()
    assert forked(lambda: server._die_with(parent)) == 0
    assert forked(lambda: server._die_with(parent + 1_000_000)) == 1  # not its parent


def test_a_worker_dies_with_its_supervisor_even_by_sigkill():
    ready_r, ready_w = os.pipe()  # the worker says it is set up
    pid_r, pid_w = os.pipe()  # the supervisor says who its worker is
    middle = os.fork()
    if middle == 0:  # the supervisor, with one worker that waits
        worker = os.fork()
        if worker == 0:
            server._die_with(os.getppid())
            os.write(ready_w, b"ready")
            signal.pause()
            os._exit(0)
        os.write(pid_w, str(worker).encode())
        signal.pause()
        os._exit(0)
    worker = int(os.read(pid_r, 20))
    assert os.read(ready_r, 5) == b"ready"
    for fd in (ready_r, ready_w, pid_r, pid_w):
        os.close(fd)
    os.kill(middle, signal.SIGKILL)
    os.waitpid(middle, 0)
    if not wait_for(lambda: not alive(worker), seconds=5):
        os.kill(worker, signal.SIGKILL)
        pytest.fail("the worker outlived its supervisor")


@pytest.mark.parametrize(
    ("status", "described"),
    [
        (0, "exit status 0"),
        (3 << 8, "exit status 3"),
        (signal.SIGKILL, "signal SIGKILL"),
        (signal.SIGRTMIN + 6, f"signal {signal.SIGRTMIN + 6}"),  # a real-time one has no name
    ],
)
def test_how_a_worker_ended_is_said(status, described):
    assert server._describe(status) == described


def test_workers_that_keep_dying_at_start_stop_the_server(monkeypatch):
    def broken(*args):
        raise RuntimeError("no database here")

    monkeypatch.setattr(server, "worker", broken)
    monkeypatch.setattr(server, "RESPAWN_PAUSE_SECONDS", 0.01)
    def hung(signum, frame):
        raise TimeoutError("the supervisor kept starting workers that die")

    previous = signal.signal(signal.SIGALRM, hung)
    signal.alarm(30)
    try:
        with socket.create_server(("127.0.0.1", 0)) as listener:
            supervisor = server.Supervisor(listener, workers=2, threads=1)
            assert supervisor.run() == 1
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    assert supervisor.gave_up and supervisor.quick_deaths == server.MAX_QUICK_DEATHS
    assert supervisor.children == {}


def test_the_shared_socket_follows_the_host():
    with server.listen("127.0.0.1", 0) as v4:
        assert v4.family == socket.AF_INET
    if not socket.has_ipv6:
        pytest.skip("no IPv6 on this machine")
    try:
        v6 = server.listen("::1", 0)
    except OSError:
        pytest.skip("IPv6 loopback is not configured")
    with v6:
        assert v6.family == socket.AF_INET6
