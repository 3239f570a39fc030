"""The web process under gunicorn, the production WSGI server."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from flask import Flask
from gunicorn.app.base import BaseApplication

from hub.app import create_app
from hub.core import heap


class HubServer(BaseApplication):
    """Gunicorn serving the app that `load_app` makes (in each worker, after the fork), with
    what that start-up made frozen out of the garbage collector's full collections
    (``hub.core.heap``)."""

    def __init__(self, options: dict[str, Any], load_app: Callable[[], Flask] = create_app) -> None:
        self.options = options
        self.load_app = load_app
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Flask:
        app = self.load_app()
        heap.settle()
        return app


def gunicorn_options(host: str, port: int, workers: int | None, threads: int) -> dict[str, Any]:
    return {
        "bind": f"{host}:{port}",
        "workers": workers or 2 * (os.cpu_count() or 1),
        "threads": threads,
        "worker_class": "hub.server_errors.JsonErrorWorker",  # JSON for its own errors
        "accesslog": None,
        "errorlog": "-",
        "graceful_timeout": 10,
        "timeout": 60,
        # gunicorn 25+ opens a control socket for `gunicornc`, by default in the home
        # directory and shared by every instance; the hub is run with signals instead.
        "control_socket_disable": True,
    }


def run_gunicorn(
    host: str,
    port: int,
    workers: int | None,
    threads: int,
    load_app: Callable[[], Flask] = create_app,
) -> None:
    """Serve until stopped: `workers` processes of `threads` threads each."""
    HubServer(gunicorn_options(host, port, workers, threads), load_app).run()
