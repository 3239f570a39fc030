"""What the hub benchmarks share: a throwaway hub's settings, `hub worker` processes, and a
process's CPU time.

Imported by bench scripts run as ``python bench/<script>.py`` (their folder is on the path).
"""

from __future__ import annotations

import os
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import redis
from rq import Worker

from hub.core.migrations import upgrade
from hub.testing import plugin_migration_dirs


def cpu_seconds(pid: int) -> float:
    """User and system CPU time of process `pid` so far (its threads, ended ones too)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def children(pid: int) -> list[int]:
    """The processes `pid` started (a worker's webhook pump), from /proc."""
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(c) for c in (task / "children").read_text().split()]
    return found


def tree_cpu_seconds(pid: int) -> float:
    """CPU seconds of `pid` and of the processes it started that still run."""
    return cpu_seconds(pid) + sum(tree_cpu_seconds(child) for child in children(pid))


def migrated_settings(
    tmp: Path, redis_url: str, database_url: str | None, **extra: str
) -> dict[str, Any]:
    """Settings for a hub on a new SQLite file in `tmp` (or `database_url`, one you can throw
    away), migrated; the API's per-key rate limit is off (it is not what is measured)."""
    settings = {
        "HUB_VAR_DIR": str(tmp / "var"),
        "HUB_DATABASE_URL": database_url or f"sqlite:///{tmp / 'hub.db'}",
        "REDIS_URL": redis_url,
        "HUB_SECRET_KEY": "bench",
        "HUB_ENCRYPTION_KEYS": "bench:" + "A" * 43 + "=",
        "HUB_LOG_LEVEL": "WARNING",
        "HUB_API_RATE_LIMIT": "off",
        **extra,
    }
    upgrade(settings["HUB_DATABASE_URL"], plugin_migration_dirs())
    return settings


class Workers:
    """`hub worker` processes (or `command`), logging to files in `logs`."""

    def __init__(self, client: redis.Redis, env: dict[str, str], logs: Path) -> None:
        self.client, self.env, self.logs = client, env, logs
        self.children: list[subprocess.Popen[bytes]] = []
        self.started = 0

    def start(self, count: int, command: list[str] | None = None) -> None:
        """Start `count` and wait until all have registered with Redis (polled every 10 ms;
        no job starts before)."""
        command = command or [sys.executable, "-m", "hub.cli", "worker"]
        for _ in range(count):
            self.started += 1
            with open(self.logs / f"worker-{self.started}.log", "wb") as log:
                child = subprocess.Popen(command, env=self.env, stdout=log, stderr=log)
                self.children.append(child)
        deadline = time.monotonic() + 60
        while len(Worker.all(connection=self.client)) < count:
            if time.monotonic() > deadline:
                raise SystemExit(f"the workers did not start; see their logs in {self.logs}")
            time.sleep(0.01)

    def cpu(self) -> float:
        """CPU seconds (user + system) the running workers, their pump processes included,
        have used so far (Linux /proc)."""
        return sum(tree_cpu_seconds(child.pid) for child in self.children)

    def stop(self) -> None:
        for child in self.children:
            child.send_signal(signal.SIGTERM)
        for child in self.children:
            child.wait(60)
        self.children = []


def hub_with_test_client(
    tmp: Path, redis_url: str, database_url: str | None = None, **extra: str
) -> tuple[Any, Any, dict[str, str]]:
    """The app on a new migrated SQLite database in `tmp` (or `database_url`'s, one to throw
    away; `extra`: more settings) with an organization and its admin key: (the app, its
    Flask test client, the key's headers)."""
    from hub.app import create_app
    from hub.core.apikeys import create_api_key
    from hub.core.orgs import create_org
    from hub.extensions import db

    app = create_app(migrated_settings(tmp, redis_url, database_url, **extra))
    with app.app_context():
        org = create_org(db.session, "Bench", "UTC")
        _, key = create_api_key(db.session, org.id, "admin", "bench")
        db.session.commit()
    return app, app.test_client(), {"Authorization": f"Bearer {key}"}


def environment(settings: dict[str, Any], **extra: str) -> dict[str, str]:
    """The workers' environment: this one, the hub's settings and `extra`."""
    return {**os.environ, **{k: str(v) for k, v in settings.items()}, **extra}


def paced(count: int, rate: float, action: Callable[[], Any]) -> None:
    """Call `action` `count` times at a steady `rate` per second."""
    started = time.perf_counter()
    for number in range(count):
        pause = started + number / rate - time.perf_counter()
        if pause > 0:
            time.sleep(pause)
        action()


def latency_summary(lags: list[float]) -> dict[str, float]:
    """p50, p99 and max of `lags` (seconds), in milliseconds."""
    ordered = sorted(lags)
    return {
        "p50 ms": statistics.median(ordered) * 1000,
        "p99 ms": ordered[int(0.99 * (len(ordered) - 1))] * 1000,
        "max ms": ordered[-1] * 1000,
    }


def print_latencies(title: str, by_workers: dict[int, dict[str, float]]) -> None:
    print(title)
    for n, row in by_workers.items():
        print(
            f"  {n} worker(s): p50 {row['p50 ms']:.1f} ms, p99 {row['p99 ms']:.1f} ms, "
            f"max {row['max ms']:.1f} ms"
        )
