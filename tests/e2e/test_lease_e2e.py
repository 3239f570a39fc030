"""End to end: two `hub worker` processes and a slow loopback receiver. While the worker
whose pump claimed the deliveries lives, the other never sends them (its renewals keep them,
longer than several leases); once it is killed (SIGKILL) with its pump's process, the other
sends what it held within HUB_SWEEP_SECONDS + HUB_WEBHOOK_TIMEOUT + 1 s (and the moment a job
takes to start). Killed alone, the worker leaves its pump to finish and give back."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from support.hub_processes import HubProcess, gone, hub_env, wait_for
from support.webhook_tools import LOOPBACK, Answer, Receiver, register

from hub.app import create_app
from hub.core.webhooks.lease import LEASE_MARGIN
from hub.core.webhooks.models import PENDING, WebhookDelivery
from hub.extensions import db
from hub.testing import ApiClient, make_org

pytestmark = pytest.mark.e2e

TIMEOUT, SWEEP = 5.0, 1
LEASE = TIMEOUT + LEASE_MARGIN
EVENTS, SLOW = 8, 4.0  # one thread for the organization: the last waits 28 s, 4.7 leases
PICKUP = 3.0  # beyond the rule: the sweeper's job and then the pump job reaching a worker


@pytest.fixture
def settings(hub_config: dict[str, Any]) -> dict[str, Any]:
    return {
        **hub_config,
        **LOOPBACK,
        "HUB_WEBHOOK_TIMEOUT": TIMEOUT,
        "HUB_SWEEP_SECONDS": SWEEP,
        "HUB_WEBHOOK_CONCURRENCY": 2,
        "HUB_WEBHOOK_ORG_CONCURRENCY": 1,
        "HUB_LOG_LEVEL": "INFO",
    }


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver().start()
    yield server
    server.stop()


@pytest.fixture
def started() -> Iterator[list[HubProcess]]:
    processes: list[HubProcess] = []
    yield processes
    for process in processes:
        process.kill_tree()


def start_worker(settings: dict[str, Any], started: list[HubProcess], log: Path) -> HubProcess:
    worker = HubProcess(["worker"], hub_env(settings), log)
    started.append(worker)
    wait_for(lambda: "worker started" in worker.output(), 60, f"{log.name} to start")
    return worker


def pending_events(app: Any) -> set[str]:
    with app.app_context():
        stmt = select(WebhookDelivery.event_id).where(WebhookDelivery.state == PENDING)
        found = set(db.session.scalars(stmt))
        db.session.remove()
        return found


def first_worker_holding(
    settings: dict[str, Any], receiver: Receiver, started: list[HubProcess], tmp_path: Path
) -> tuple[Any, HubProcess, float]:
    """A worker whose pump holds the organization's deliveries (one thread, slow answers)
    past a lease, a second worker beside it, and the receiver answering at once from now on:
    (the app, the first worker, when the second started)."""
    app = create_app(settings)
    api = ApiClient(app.test_client(), make_org(app, "Lease Studio").admin_key)
    receiver.answer(*[Answer(delay=SLOW)] * EVENTS)
    first = start_worker(settings, started, tmp_path / "first.log")
    register(api, receiver.url())
    for number in range(EVENTS):
        assert api.post("/api/clients", json={"name": f"Client {number}"}).status_code == 201
    wait_for(lambda: receiver.received, 30, "the first delivery")
    began = time.time()
    start_worker(settings, started, tmp_path / "second.log")
    time.sleep(LEASE)  # the second worker's sweeps run for a lease beside the first's pump
    receiver.script.clear()
    return app, first, began


def test_a_killed_workers_deliveries_go_out_again_within_a_sweep_and_a_lease(
    settings, receiver, started, tmp_path
):
    app, first, began = first_worker_holding(settings, receiver, started, tmp_path)
    held = pending_events(app)
    first.kill_tree()  # the worker and its pump's process: nothing gives their deliveries back
    killed = time.time()
    assert killed - began > LEASE and held  # the premise: held past its claim's lease
    before = [r.header("webhook-id") for r in receiver.received]
    assert len(before) == len(set(before))  # nothing sent twice while its pump lived

    wait_for(lambda: not pending_events(app), 60, "the killed worker's deliveries")
    after = [r for r in receiver.received if r.at > killed]
    for event_id in held:
        again = min(r.at for r in after if r.header("webhook-id") == event_id)
        assert again - killed <= SWEEP + LEASE + PICKUP, (event_id, again - killed)
    counts = Counter(r.header("webhook-id") for r in receiver.received)
    assert len(counts) == EVENTS
    assert sum(counts.values()) - EVENTS <= 1  # only the one in flight at the kill, twice
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def test_a_worker_killed_alone_leaves_its_pump_to_finish_and_give_back(
    settings, receiver, started, tmp_path
):
    """kill -9 of the worker process only: its pump's process sees the pipe close, finishes
    the delivery in flight, gives back the rest at once (no lease to wait out) and exits;
    nothing is sent twice."""
    app, first, _ = first_worker_holding(settings, receiver, started, tmp_path)
    (pump,) = first.children()
    held = pending_events(app)
    first.kill()
    killed = time.time()
    assert held and not gone(pump)  # the premise: the pump outlives its worker, holding these

    wait_for(lambda: gone(pump), SLOW + 5, "the pump process to exit")
    wait_for(lambda: not pending_events(app), 60, "the killed worker's deliveries")
    after = [r for r in receiver.received if r.at > killed]
    for event_id in held:
        again = [r.at for r in after if r.header("webhook-id") == event_id]
        if again:  # given back, sent by the second worker: no lease waited out
            assert min(again) - killed <= SLOW + SWEEP + PICKUP, (event_id, min(again) - killed)
    counts = Counter(r.header("webhook-id") for r in receiver.received)
    assert len(counts) == EVENTS
    assert sum(counts.values()) == EVENTS  # the one in flight was finished, not sent again
    assert "still sending at exit" not in first.output()
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def test_a_worker_forks_its_pump_unless_the_setting_says_a_thread(settings, started, tmp_path):
    """HUB_WEBHOOK_PUMP_PROCESS: on by default (one child, the pump), off: no child."""
    forked = start_worker(settings, started, tmp_path / "forked.log")
    threaded = start_worker(
        {**settings, "HUB_WEBHOOK_PUMP_PROCESS": "false"}, started, tmp_path / "threaded.log"
    )
    (pump,) = forked.children()
    assert f"hub-webhook-pump runs in process {pump}" in forked.output()
    assert threaded.children() == []
    assert forked.stop() == 0  # SIGTERM: the worker closes the pipe, the pump exits first
    assert gone(pump)
    assert threaded.stop() == 0
