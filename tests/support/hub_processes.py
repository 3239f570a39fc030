"""Helpers for tests that start real processes (tests/e2e/, tests/browser/): `hub`
subprocesses with their own logs, and waiting."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

E2E = Path(__file__).resolve().parents[1] / "e2e"  # the e2e tests' plugins (e2e_alpha, ...)


def hub_env(settings: Mapping[str, Any], **extra: str) -> dict[str, str]:
    """The environment of a `hub` subprocess: these settings, the e2e plugins importable."""
    env = {**os.environ, **{k: str(v) for k, v in settings.items()}, **extra}
    env["PYTHONPATH"] = os.pathsep.join([str(E2E), env.get("PYTHONPATH", "")])
    return env


class HubProcess:
    """`python -m hub.cli <args>`, its stdout and stderr in one log file."""

    def __init__(self, args: list[str], env: Mapping[str, str], log: Path) -> None:
        self.log = log
        with open(log, "wb") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "hub.cli", *args], env=dict(env), stdout=out, stderr=out
            )

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def signal(self, signum: int) -> None:
        if self.alive():
            self.proc.send_signal(signum)

    def stop(self, timeout: float = 30) -> int:
        """SIGTERM, then its exit status (killed if it does not exit within `timeout`)."""
        self.signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)
            raise AssertionError(f"{self.log.name}: no exit {timeout} s after SIGTERM") from None

    def children(self) -> list[int]:
        """The processes it started (a worker's webhook pump)."""
        return children(self.pid)

    def kill(self) -> None:
        """SIGKILL it only (a worker's pump process then winds down on its own)."""
        if self.alive():
            self.proc.kill()
        self.proc.wait(10)

    def kill_tree(self) -> None:
        """SIGKILL it and what it started (a worker and its pump: the machine lost them)."""
        kill_tree(self.proc)


def children(pid: int) -> list[int]:
    """The processes `pid` started and that still run (Linux /proc)."""
    found: list[int] = []
    with contextlib.suppress(FileNotFoundError):
        for task in Path(f"/proc/{pid}/task").iterdir():
            with contextlib.suppress(FileNotFoundError):
                found += [int(c) for c in (task / "children").read_text().split()]
    return found


def kill_tree(proc: subprocess.Popen[bytes]) -> None:
    """SIGKILL `proc` and every process under it (children first: none outlives it)."""
    if proc.poll() is None:
        tree, pending = [], children(proc.pid)
        while pending:
            tree.append(pending.pop())
            pending += children(tree[-1])
        for pid in reversed(tree):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        proc.kill()
    proc.wait(10)


def gone(pid: int) -> bool:
    """Has process `pid` exited (a zombie waiting to be reaped counts)?"""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return True
    return state == "Z"


def wait_for(condition: Callable[[], Any], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.2)
