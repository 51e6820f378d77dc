"""``grader serve``: gunicorn serves the application, configured by :mod:`grader.server.config`.

One process grades under one interpreter lock, so a server on several cores runs
several processes (``--workers``), each with its own threads, database
connections, grading queue and sandbox daemons; gunicorn's master starts them,
and starts again any that dies.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Callable
from functools import partial
from typing import Any

from flask import Flask
from gunicorn.app.base import BaseApplication

from grader.server import config
from grader.service import demo as demo_course
from grader.service.db import database
from grader.web import create_app

LOG_FORMAT = "%(asctime)s [%(process)d] [%(levelname)s] %(name)s: %(message)s"
LOG_DATES = "[%Y-%m-%d %H:%M:%S %z]"  # as gunicorn's own records


class Server(BaseApplication):
    """gunicorn, as its documentation's "Custom Application": config module, then options."""

    def __init__(self, options: dict[str, Any], load_app: Callable[[], Flask] = create_app) -> None:
        self.options = options
        self.load_app = load_app
        super().__init__()

    def load_config(self) -> None:
        values = {name: getattr(config, name) for name in dir(config)}
        values.update(self.options)
        for name, value in values.items():
            if name in self.cfg.settings and value is not None:
                self.cfg.set(name, value)

    def load(self) -> Flask:
        return self.load_app()


def print_demo_logins(app: Flask, loaded: list[demo_course.Login] | None) -> None:
    logins = loaded or demo_course.saved_logins(app)
    if logins is None:
        print("The database already has users: the demo course was not loaded.")
        return
    print("Demo course ML101 (log in at the address below):")
    for login in logins:
        print(f"  {login.role:<10}  name {login.name:<8}  password {login.password}")
    print("API tokens: `grader user add NAME --role student|instructor` prints one.", flush=True)


def _starting_with_demo(server: Any) -> None:
    config.on_starting(server)
    app = create_app()
    try:
        print_demo_logins(app, demo_course.load_if_empty(app))
    finally:
        database(app).dispose()


def check_address(host: str, port: int) -> None:
    """Raise OSError at once if the address cannot be served (gunicorn would retry for 5 s)."""
    family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind((host, port))


def serve(
    host: str,
    port: int,
    demo: bool = False,
    threads: int = config.THREADS_DEFAULT,
    workers: int | None = None,
) -> int:
    """Serve the application with gunicorn until it is stopped; the exit status."""
    check_address(host, port)
    # the grader's records beside gunicorn's (which configures only its own loggers; a
    # logging configuration given to gunicorn would turn its access log on, at a cost)
    logging.basicConfig(level=logging.INFO, format=LOG_FORMAT, datefmt=LOG_DATES)
    logging.getLogger("alembic").setLevel(logging.WARNING)
    address = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    processes = workers or config.default_workers()
    options: dict[str, Any] = {"bind": [address], "threads": threads, "workers": processes}
    if demo:
        options["on_starting"] = _starting_with_demo
    # what each process shares with the others (its rate limits' counters: grader.web.limits)
    Server(options, load_app=partial(create_app, {"SERVER_PROCESSES": processes})).run()
    return 0
