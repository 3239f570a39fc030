"""End to end with real processes (`hub serve` and one `hub worker`, over loopback): one
organization's dead webhook endpoints cost that organization only. Org A has five endpoints
that never answer (three drop connections, two accept and answer a byte a second) and 200
events, 1,000 deliveries that each take a connect timeout or a whole attempt deadline;
org B's events, created meanwhile, still reach B's receiver within 2 s at p99."""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import requests
from sqlalchemy import func, select
from support.hub_processes import HubProcess, hub_env, wait_for
from support.net import free_port
from support.slow_servers import BlackHole, Trickle
from support.webhook_tools import LOOPBACK, Receiver

from hub.core.webhooks.models import WebhookAttempt
from hub.extensions import db
from hub.testing import OrgHandle, make_org

pytestmark = pytest.mark.e2e

HOST = "127.0.0.1"
A_EVENTS, B_EVENTS = 200, 40
B_EVERY = 0.25  # seconds between org B's events
P99_LIMIT = 2.0


@pytest.fixture
def settings(hub_config: dict[str, Any]) -> dict[str, str]:
    # the shipped timeouts: HUB_WEBHOOK_CONNECT_TIMEOUT 3 s, HUB_WEBHOOK_TIMEOUT 15 s
    return {k: str(v) for k, v in {**hub_config, **LOOPBACK, "HUB_LOG_LEVEL": "WARNING"}.items()}


@pytest.fixture
def hub_url(settings: dict[str, str], tmp_path: Path) -> Iterator[str]:
    """`hub serve` on a free loopback port and one `hub worker`."""
    port = free_port()
    env = hub_env(settings)
    serve = ["serve", "--host", HOST, "--port", str(port), "--workers", "2", "--threads", "4"]
    web = HubProcess(serve, env, tmp_path / "web.log")
    worker = HubProcess(["worker"], env, tmp_path / "worker.log")
    url = f"http://{HOST}:{port}"
    try:
        wait_for(lambda: _healthy(url), 60, "hub serve")
        yield url
    finally:
        worker.kill_tree()
        web.stop()


def _healthy(url: str) -> bool:
    try:
        return requests.get(f"{url}/api/health", timeout=2).status_code == 200
    except requests.ConnectionError:
        return False


@pytest.fixture
def dead_ends() -> Iterator[list[str]]:
    holes = [BlackHole() for _ in range(3)]
    trickles = [Trickle(interval=1.0, size=1000, headers=True) for _ in range(2)]
    yield [server.url() for server in [*holes, *trickles]]
    for server in [*holes, *trickles]:
        server.close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver().start()
    yield server
    server.stop()


def api(url: str, org: OrgHandle) -> requests.Session:
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {org.admin_key}"
    session.base_url = url  # type: ignore[attr-defined]
    return session


def post(session: requests.Session, path: str, body: dict[str, Any]) -> Any:
    response = session.post(session.base_url + path, json=body, timeout=10)  # type: ignore[attr-defined]
    assert response.status_code == 201, response.text
    return response.json()


def latencies(receiver: Receiver) -> list[float]:
    """Receipt minus the event's timestamp (stamped in its transaction, before the commit)."""
    found = []
    for request in receiver.received:
        stamp = datetime.fromisoformat(json.loads(request.body)["timestamp"]).timestamp()
        found.append(request.at - stamp)
    return found


def attempts_of(app: Any, org_id: int) -> int:
    with app.app_context():
        count = db.session.scalar(
            select(func.count()).select_from(WebhookAttempt).where(WebhookAttempt.org_id == org_id)
        )
        db.session.remove()
        return int(count or 0)


def test_dead_endpoints_of_one_organization_do_not_delay_another(
    make_app, redis_client, hub_url, dead_ends, receiver
):
    app = make_app()
    org_a, org_b = make_org(app, "Dead Ends"), make_org(app, "Busy Agency")
    a, b = api(hub_url, org_a), api(hub_url, org_b)
    for url in dead_ends:
        post(a, "/api/integrations/webhooks", {"url": url, "events": ["*"]})
    post(b, "/api/integrations/webhooks", {"url": receiver.url(), "events": ["*"]})

    for number in range(A_EVENTS):
        post(a, "/api/clients", {"name": f"A {number}"})
    for number in range(B_EVENTS):
        post(b, "/api/clients", {"name": f"B {number}"})
        time.sleep(B_EVERY)
    wait_for(lambda: len(receiver.received) >= B_EVENTS, 60, "org B's deliveries")

    took = sorted(latencies(receiver))
    p50, p99 = statistics.median(took), took[int(0.99 * (len(took) - 1))]
    print(f"org B, commit -> receipt: p50 {p50 * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms")
    assert len(took) == B_EVENTS
    assert attempts_of(app, org_a.id) > 0  # org A's dead ends were being tried meanwhile
    assert p99 < P99_LIMIT
