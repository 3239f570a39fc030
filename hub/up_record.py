"""What a running `hub up` started, kept in HUB_VAR_DIR/hub-up.json, so the next start finds a
set of processes left behind by one that died (SIGKILL, a crash) instead of failing to bind.

Each process is recorded with its start time from /proc, so a pid the system has since
given to another program is never taken for ours.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

RECORD = "hub-up.json"


def started_at(pid: int) -> str | None:
    """The process's start time (clock ticks since boot, from /proc); None if it is not
    running or the system has no /proc."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[19]  # field 22, counted after the command name


def is_running(pid: int, start: str | None) -> bool:
    """Is `pid` still the process that was recorded with start time `start`?"""
    return start is not None and started_at(pid) == start


@dataclass
class UpRecord:
    """`hub up`'s pid and url, and its children: name -> (pid, start time)."""

    path: Path
    pid: int
    url: str
    children: dict[str, tuple[int, str | None]]

    @classmethod
    def new(cls, var: Path, url: str) -> UpRecord:
        return cls(var / RECORD, os.getpid(), url, {})

    def note(self, name: str, pid: int) -> None:
        self.children[name] = (pid, started_at(pid))
        self.save()

    def save(self) -> None:
        body = {
            "pid": self.pid,
            "start": started_at(self.pid),
            "url": self.url,
            "children": {name: list(child) for name, child in self.children.items()},
        }
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=f".{RECORD}.")
        with os.fdopen(fd, "w") as out:
            json.dump(body, out)
        os.replace(tmp, self.path)

    def remove(self) -> None:
        self.path.unlink(missing_ok=True)


@dataclass(frozen=True)
class Previous:
    """What the record of an earlier `hub up` says is still running."""

    up_pid: int | None  # that `hub up` itself, if it still runs
    url: str
    leftovers: dict[str, int]  # its children that outlived it: name -> pid


def previous(var: Path) -> Previous | None:
    """The earlier `hub up` recorded under `var`, if any of it still runs."""
    try:
        body: dict[str, Any] = json.loads((var / RECORD).read_text())
    except (OSError, ValueError):
        return None
    alive = {
        name: int(pid)
        for name, (pid, start) in body.get("children", {}).items()
        if is_running(int(pid), start)
    }
    up_pid = body.get("pid")
    up_alive = isinstance(up_pid, int) and is_running(up_pid, body.get("start"))
    if not up_alive and not alive:
        return None
    return Previous(up_pid if up_alive else None, str(body.get("url", "")), alive)


def stop_leftovers(leftovers: dict[str, int], grace: float = 15.0) -> list[int]:
    """SIGTERM the processes a dead `hub up` left, SIGKILL what still runs after `grace`
    seconds; the pids that had to be killed."""
    starts = {pid: started_at(pid) for pid in leftovers.values()}
    for pid in starts:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and any(is_running(p, s) for p, s in starts.items()):
        time.sleep(0.1)
    killed = [pid for pid, start in starts.items() if is_running(pid, start)]
    for pid in killed:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    return killed


def cannot_listen(host: str, port: int) -> str | None:
    """Why host:port cannot be listened on (something else listens there), or None."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as gunicorn binds
        try:
            probe.bind((host, port))
        except OSError as exc:
            return exc.strerror or str(exc)
    return None
