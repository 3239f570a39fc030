"""End to end: `hub worker` processes ride out a Redis outage, busy or idle, and start
before Redis is up. Redis is a real server of the test's own, killed with SIGKILL and
started again empty; the database is the truth, so nothing committed is lost."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from rq import Worker
from support.hub_processes import HubProcess, hub_env, wait_for

from hub.app import create_app
from hub.core.embedded_redis import EmbeddedRedis
from hub.extensions import db
from hub.testing import ApiClient, make_org

pytestmark = pytest.mark.e2e

OUTAGE_SECONDS = 8  # longer than the worker's first reconnection waits (1, 2, 4 s)
RECOVERY_SECONDS = 45


class KillableRedis:
    """A real redis-server on a unix socket that a test can kill and start again empty."""

    def __init__(self, socket_path: Path) -> None:
        self.socket_path = socket_path
        self.server: EmbeddedRedis | None = None

    @property
    def url(self) -> str:
        return f"unix://{self.socket_path}"

    def start(self) -> None:
        self.server = EmbeddedRedis(self.socket_path).start()

    def kill(self) -> None:
        assert self.server is not None and self.server.process is not None
        self.server.process.kill()
        self.server.process.wait(10)
        self.server = None

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()


@pytest.fixture
def own_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KillableRedis]:
    server = KillableRedis(tmp_path_factory.mktemp("outage-redis") / "redis.sock")
    yield server
    server.stop()


@pytest.fixture
def settings(
    hub_config: dict[str, Any], own_redis: KillableRedis, tmp_path: Path
) -> dict[str, Any]:
    records = tmp_path / "records"
    records.mkdir()
    return {
        **hub_config,
        "REDIS_URL": own_redis.url,
        "HUB_EXTRA_PLUGINS": "slow=e2e_slow",
        "HUB_SWEEP_SECONDS": 1,
        "HUB_OUTBOX_GRACE": 1,
        "HUB_RUN_REQUEUE_AFTER": 2,
        "HUB_LOG_LEVEL": "INFO",
        "E2E_RECORD_DIR": str(records),
        "E2E_SLOW_SECONDS": 3,
    }


@pytest.fixture
def started(tmp_path: Path) -> Iterator[list[HubProcess]]:
    """Processes a test started; whatever is still running at the end is killed."""
    processes: list[HubProcess] = []
    yield processes
    for process in processes:
        process.kill_tree()


def slow_log(settings: dict[str, Any]) -> list[str]:
    path = Path(settings["E2E_RECORD_DIR"]) / "slow.log"
    return path.read_text().splitlines() if path.exists() else []


def slow_runs(api: ApiClient) -> dict[str, str]:
    """The state of the `slow` plugin's run of each event."""
    items = api.get("/api/integrations/runs", query_string={"plugin": "slow"}).json["items"]
    return {run["event_id"]: run["state"] for run in items if run["event_type"] == "client.created"}


def create_client(app: Flask, api: ApiClient, name: str) -> str:
    """Create a client; the id of its `client.created` event."""
    response = api.post("/api/clients", json={"name": name})
    assert response.status_code == 201, response.json
    events = api.get("/api/events", query_string={"type": "client.created"}).json["items"]
    return next(e["id"] for e in events if e["data"]["id"] == response.json["id"])


def enabled_slow_plugin(app: Flask) -> ApiClient:
    org = make_org(app, "Slow Studio")
    api = ApiClient(app.test_client(), org.admin_key)
    assert api.put("/api/integrations/slow", json={}).status_code in (200, 201)
    return api


def start_worker(settings: dict[str, Any], started: list[HubProcess], log: Path) -> HubProcess:
    worker = HubProcess(["worker"], hub_env(settings), log)
    started.append(worker)
    return worker


def test_a_worker_in_the_middle_of_a_job_rides_out_a_redis_outage(
    settings, own_redis, started, tmp_path
):
    own_redis.start()
    app = create_app(settings)
    api = enabled_slow_plugin(app)
    worker = start_worker(settings, started, tmp_path / "worker.log")
    wait_for(lambda: Worker.all(connection=app.extensions["hub.redis"]), 30, "the worker")

    first = create_client(app, api, "During the outage")
    wait_for(lambda: f"start {first}" in slow_log(settings), 30, "the slow hook to start")
    own_redis.kill()  # while the hook runs: the job ends with Redis gone
    wait_for(lambda: f"done {first}" in slow_log(settings), 30, "the slow hook to end")
    time.sleep(OUTAGE_SECONDS)
    assert worker.alive(), worker.output()
    second = create_client(app, api, "Committed while Redis was down")

    own_redis.start()  # empty: every queued job and pending id is gone
    wait_for(lambda: f"done {second}" in slow_log(settings), RECOVERY_SECONDS, "the 2nd event")
    wait_for(lambda: slow_runs(api) == {first: "succeeded", second: "succeeded"}, 30, "runs")
    assert worker.alive(), worker.output()
    assert "Redis is unreachable" in worker.output()
    assert "Redis is back" in worker.output()
    assert worker.stop() == 0, worker.output()
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def test_a_worker_started_before_redis_waits_for_it(settings, own_redis, started, tmp_path):
    app = create_app(settings)
    api = enabled_slow_plugin(app)
    worker = start_worker(settings, started, tmp_path / "worker.log")
    quitter = start_worker(settings, started, tmp_path / "quitter.log")
    wait_for(lambda: "waiting for Redis" in worker.output(), 30, "the worker to say it waits")
    wait_for(lambda: "waiting for Redis" in quitter.output(), 30, "the 2nd worker to wait")
    assert quitter.stop(timeout=10) == 0, quitter.output()  # SIGTERM while waiting: a clean exit

    event = create_client(app, api, "Before Redis")
    time.sleep(2)
    assert worker.alive(), worker.output()
    own_redis.start()
    wait_for(lambda: f"done {event}" in slow_log(settings), RECOVERY_SECONDS, "the event")
    assert "worker started" in worker.output()

    own_redis.kill()  # now while it is idle
    time.sleep(OUTAGE_SECONDS)
    later = create_client(app, api, "After an idle outage")
    own_redis.start()
    wait_for(lambda: f"done {later}" in slow_log(settings), RECOVERY_SECONDS, "the last event")
    assert worker.alive(), worker.output()
    assert worker.stop() == 0, worker.output()
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
