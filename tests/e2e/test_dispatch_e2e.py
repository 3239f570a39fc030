"""End to end with real `hub worker` processes: kill -9 every worker in the middle of a
burst of creates, flush Redis, start workers again: every committed event reaches every
enabled plugin (at least once, with its event id) within a minute of the workers' return."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from rq import Worker
from sqlalchemy import select
from support.hub_processes import kill_tree, wait_for

from hub.app import create_app
from hub.core.embedded_redis import EmbeddedRedis
from hub.core.models import Event
from hub.extensions import db
from hub.testing import ApiClient, make_org

pytestmark = pytest.mark.e2e

HERE = Path(__file__).parent
PLUGINS = "alpha=e2e_alpha,beta=e2e_beta"
RECOVERY_SECONDS = 60


@pytest.fixture
def own_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedRedis]:
    """A Redis of this test's own, so FLUSHALL touches nobody else's."""
    server = EmbeddedRedis(tmp_path_factory.mktemp("e2e-redis") / "redis.sock").start()
    yield server
    server.stop()


@pytest.fixture
def settings(
    hub_config: dict[str, Any], own_redis: EmbeddedRedis, tmp_path: Path
) -> dict[str, Any]:
    records = tmp_path / "records"
    records.mkdir()
    return {
        **hub_config,
        "REDIS_URL": own_redis.url,
        "HUB_EXTRA_PLUGINS": PLUGINS,
        "E2E_RECORD_DIR": str(records),
    }


class Workers:
    """`hub worker` subprocesses sharing the test's database and Redis."""

    def __init__(self, settings: dict[str, Any], logs: Path) -> None:
        self.env = {**os.environ, **{k: str(v) for k, v in settings.items()}}
        self.env["PYTHONPATH"] = os.pathsep.join([str(HERE), self.env.get("PYTHONPATH", "")])
        self.env["HUB_LOG_LEVEL"] = "WARNING"
        self.logs = logs
        self.procs: list[subprocess.Popen[bytes]] = []

    def start(self, count: int) -> None:
        for _ in range(count):
            with open(self.logs / f"worker-{len(self.procs)}.log", "wb") as log:
                cmd = [sys.executable, "-m", "hub.cli", "worker"]
                self.procs.append(subprocess.Popen(cmd, env=self.env, stdout=log, stderr=log))

    def alive(self) -> list[subprocess.Popen[bytes]]:
        return [p for p in self.procs if p.poll() is None]

    def kill_all(self) -> None:
        """SIGKILL every worker and its webhook pump process."""
        for proc in self.procs:
            kill_tree(proc)

    def stop_all(self) -> list[int | None]:
        for proc in self.alive():
            proc.send_signal(signal.SIGTERM)
        return [proc.wait(30) for proc in self.procs]


@pytest.fixture
def workers(settings: dict[str, Any], tmp_path: Path) -> Iterator[Workers]:
    group = Workers(settings, tmp_path)
    yield group
    for proc in group.procs:
        kill_tree(proc)


def recorded(records: Path) -> set[tuple[str, str, str, int]]:
    calls = set()
    for path in records.glob("*.log"):
        for line in path.read_text().splitlines():
            plugin, hook, event_id, org_id = line.split()
            calls.add((plugin, hook, event_id, int(org_id)))
    return calls


def committed_events(app: Flask) -> list[tuple[str, str, int]]:
    with app.app_context():
        rows = db.session.execute(select(Event.id, Event.type, Event.org_id)).all()
        db.session.remove()
        return [(row[0], row[1], row[2]) for row in rows]


def expected_calls(app: Flask, enabled: dict[int, set[str]]) -> set[tuple[str, str, str, int]]:
    """Every (plugin, hook, event, org) the hub owes its plugins."""
    owed = set()
    for event_id, type_, org_id in committed_events(app):
        for plugin in enabled.get(org_id, set()):
            owed.add((plugin, "on_event", event_id, org_id))
            if type_ == "client.created":
                owed.add((plugin, "on_client_created", event_id, org_id))
    return owed


def enable(api: ApiClient, plugin: str) -> None:
    response = api.put(f"/api/integrations/{plugin}", json={})
    assert response.status_code in (200, 201), response.json


def test_killed_workers_and_a_flushed_redis_lose_no_event(settings, workers, tmp_path):
    app = create_app(settings)
    both, alpha_only = make_org(app, "Both Plugins"), make_org(app, "Alpha Only")
    client = app.test_client()
    apis = {
        both.id: ApiClient(client, both.admin_key),
        alpha_only.id: ApiClient(client, alpha_only.admin_key),
    }
    enable(apis[both.id], "alpha")
    enable(apis[both.id], "beta")
    enable(apis[alpha_only.id], "alpha")
    enabled = {both.id: {"alpha", "beta"}, alpha_only.id: {"alpha"}}
    records = Path(settings["E2E_RECORD_DIR"])

    workers.start(2)
    wait_for(lambda: len(Worker.all(connection=app.extensions["hub.redis"])) == 2, 30, "2 workers")
    for number in range(400):
        api = apis[both.id] if number % 2 else apis[alpha_only.id]
        assert api.post("/api/clients", json={"name": f"Client {number}"}).status_code == 201
        if number == 150:
            wait_for(lambda: len(recorded(records)) > 20, 30, "hooks to be called")
            workers.kill_all()  # mid-burst, mid-batch
    assert len(recorded(records)) < len(expected_calls(app, enabled))  # work was left undone
    app.extensions["hub.redis"].flushall()

    returned = time.monotonic()
    workers.start(2)
    owed = expected_calls(app, enabled)
    wait_for(lambda: owed <= recorded(records), RECOVERY_SECONDS, "every event at every plugin")
    recovered_in = time.monotonic() - returned
    print(f"recovered in {recovered_in:.1f} s")  # shown with -s
    assert recovered_in < RECOVERY_SECONDS
    assert not [c for c in recorded(records) if c[0] == "beta" and c[3] == alpha_only.id]
    assert workers.stop_all()[-2:] == [0, 0]  # SIGTERM: a clean exit
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
