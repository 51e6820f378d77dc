"""What the benchmarks that start a real ``grader serve`` share."""

from __future__ import annotations

import socket
import time

import requests


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until_healthy(base: str, attempts: int = 300) -> None:
    """Poll ``/healthz`` until the server answers 200 (about 30 s at most)."""
    for _ in range(attempts):
        try:
            if requests.get(f"{base}/healthz", timeout=1).status_code == 200:
                return
        except requests.RequestException:  # refused, or accepted before the app is ready
            time.sleep(0.1)
