"""A burst over a provider's quota from two real `hub worker` processes is deferred, not
dropped: every run completes once the window passes, no attempt counted for the waits."""

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
from sqlalchemy import select
from support.ratelimit_plugin import NAME, PER_SECOND, Provider429Server

from hub.app import create_app
from hub.core.models import Run
from hub.core.ratelimit import DEFERRALS_KEY
from hub.extensions import db
from hub.testing import ApiClient, make_org

pytestmark = pytest.mark.e2e

TESTS = Path(__file__).resolve().parents[1]  # holds the `support` package the workers import
CLIENTS = 12


@pytest.fixture
def provider_server() -> Iterator[Provider429Server]:
    server = Provider429Server()
    yield server
    server.stop()


@pytest.fixture
def settings(hub_config: dict[str, Any], provider_server: Provider429Server) -> dict[str, Any]:
    return {
        **hub_config,
        "HUB_EXTRA_PLUGINS": f"{NAME}=support.ratelimit_plugin",
        "BURST_API_BASE": provider_server.url,
        "HUB_SWEEP_SECONDS": "1",
        "HUB_LOG_LEVEL": "WARNING",
    }


@pytest.fixture
def workers(settings: dict[str, Any], tmp_path: Path) -> Iterator[list[subprocess.Popen[bytes]]]:
    env = {**os.environ, **{k: str(v) for k, v in settings.items()}}
    env["PYTHONPATH"] = os.pathsep.join([str(TESTS), env.get("PYTHONPATH", "")])
    procs = []
    for index in range(2):
        with open(tmp_path / f"worker-{index}.log", "wb") as log:
            cmd = [sys.executable, "-m", "hub.cli", "worker"]
            procs.append(subprocess.Popen(cmd, env=env, stdout=log, stderr=log))
    yield procs
    for proc in procs:
        proc.send_signal(signal.SIGTERM)
    for proc in procs:
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


def runs(app: Any) -> list[tuple[str, int]]:
    with app.app_context():
        found = db.session.execute(select(Run.state, Run.attempts).where(Run.plugin == NAME))
        rows = [(state, attempts) for state, attempts in found]
        db.session.remove()
        return rows


def test_a_burst_over_quota_from_two_workers_is_deferred_not_dropped(
    settings, provider_server, redis_client, workers
):
    app = create_app(settings)
    org = make_org(app, "Burst Agency")
    api = ApiClient(app.test_client(), org.admin_key)
    assert api.put(f"/api/integrations/{NAME}", json={}).status_code in (200, 201)
    for number in range(CLIENTS):
        assert api.post("/api/clients", json={"name": f"Client {number}"}).status_code == 201
    deadline = time.monotonic() + 90
    while not (len(runs(app)) == CLIENTS and all(state == "succeeded" for state, _ in runs(app))):
        assert time.monotonic() < deadline, f"runs not done: {runs(app)}"
        time.sleep(0.3)
    assert all(attempts == 1 for _, attempts in runs(app))  # waits were not attempts
    assert len({event for _, event in provider_server.calls}) == CLIENTS
    assert provider_server.busiest(0.9) <= PER_SECOND
    deferred = int(redis_client.hget(DEFERRALS_KEY, f"{NAME}|quota") or 0)
    assert deferred >= 1
    with app.app_context():
        db.engine.dispose()
