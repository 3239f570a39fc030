"""The web process under gunicorn, the production WSGI server."""

from __future__ import annotations

import os
from typing import Any

from flask import Flask
from gunicorn.app.base import BaseApplication

from hub.app import create_app


class HubServer(BaseApplication):
    def __init__(self, options: dict[str, Any]) -> None:
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Flask:
        return create_app()


def run_gunicorn(host: str, port: int, workers: int | None, threads: int) -> None:
    """Serve until stopped: `workers` processes of `threads` threads each."""
    HubServer(
        {
            "bind": f"{host}:{port}",
            "workers": workers or 2 * (os.cpu_count() or 1),
            "threads": threads,
            "worker_class": "gthread",
            "accesslog": None,
            "errorlog": "-",
            "graceful_timeout": 10,
            "timeout": 60,
        }
    ).run()
