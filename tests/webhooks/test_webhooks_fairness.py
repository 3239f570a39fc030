"""Organizations take turns for the pump's threads: one organization's slow endpoints hold
at most HUB_WEBHOOK_ORG_CONCURRENCY of them, and another's deliveries go out beside them."""

from __future__ import annotations

import time

import pytest
from support.webhook_tools import (
    LOOPBACK,
    Answer,
    attempts,
    deliver,
    deliveries,
    dispatch_only,
    emit,
    register,
    running_receiver,
)

from hub import jobs
from hub.core.background import stop_all, wait_all_idle
from hub.core.runs import pending
from hub.default_plugins import webhooks as plugin


@pytest.fixture
def hub_config(hub_config):
    return {**hub_config, **LOOPBACK, "HUB_WEBHOOK_CONCURRENCY": "4"}


@pytest.fixture
def slow():
    yield from running_receiver()


@pytest.fixture
def fast():
    yield from running_receiver()


def test_a_slow_organization_holds_its_share_of_threads_and_the_other_goes_first(
    app, api, other_api, slow, fast
):
    slow.answer(*[Answer(delay=0.4)] * 12)
    register(api, slow.url())
    for number in range(12):
        emit(api, f"Slow {number}")  # org A's twelve, committed first (the oldest due)
    fast_endpoint = register(other_api, fast.url())
    emit(other_api, "Fast")
    deliver(app)

    assert slow.most_in_flight == 2  # half the 4 threads: org A's share
    [theirs] = deliveries(app, fast_endpoint["id"])
    [their_attempt] = attempts(app, theirs.id)
    mine = sorted(
        a.attempted_at
        for d in deliveries(app)
        if d.endpoint_id != fast_endpoint["id"]
        for a in attempts(app, d.id)
    )
    assert len(mine) == 12
    # org B's delivery went out on a free thread at once, not after org A's backlog
    assert their_attempt.attempted_at <= mine[2]


def test_an_organization_alone_may_use_its_cap_and_no_more(app, api, slow):
    app.config["HUB_WEBHOOK_ORG_CONCURRENCY"] = 3
    slow.answer(*[Answer(delay=0.3)] * 9)
    register(api, slow.url())
    for number in range(9):
        emit(api, f"Client {number}")
    deliver(app)
    assert len(slow.received) == 9
    assert slow.most_in_flight == 3


def test_the_pump_job_returns_at_once_while_a_slow_destination_is_awaited(
    app, api, slow, hub_clock
):
    slow.answer(Answer(status=500))
    register(api, slow.url())
    emit(api)
    deliver(app)
    [delivery] = deliveries(app)
    assert delivery.state == "pending"  # retried in about 5 s
    hub_clock.advance(minutes=1)
    slow.answer(Answer(delay=1.5))
    with app.app_context():
        plugin.deliver_due()  # the job: wakes the pump and returns
        assert len(attempts(app, delivery.id)) == 1  # the retry is still being awaited
        wait_all_idle(app.extensions)
    assert [a.status_code for a in attempts(app, delivery.id)] == [500, 200]


def test_a_stopping_worker_gives_back_what_it_had_not_started(app, api, slow):
    app.config.update(HUB_WEBHOOK_CONCURRENCY=1)
    slow.answer(*[Answer(delay=0.5)] * 6)
    register(api, slow.url())
    for number in range(6):
        emit(api, f"Client {number}")
    dispatch_only(app)
    assert not slow.received
    with app.app_context():
        plugin.deliver_due()  # the pump claims all six and sends one at a time
        wait_until(lambda: slow.received)
        stop_all(app.extensions, 10)  # what `hub worker` does when it stops
    rows = deliveries(app)
    sent = [d for d in rows if d.attempts]
    assert len(sent) == len(slow.received) >= 1  # what was in flight finished and is recorded
    assert all(d.state == "succeeded" for d in sent)
    rest = [d for d in rows if not d.attempts]
    assert rest and all(d.state == "pending" and d.lease_until is None for d in rest)


def wait_until(condition, timeout=10.0):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_a_drain_job_wakes_its_own_pump_without_a_pump_job(app, api, fast):
    """A backlog's deliveries go out while the drain job still dispatches: the worker's
    pump is woken after each batch of runs, not by the pump job queued at the job's end."""
    app.config["HUB_RUN_BATCH"] = 2
    register(api, fast.url())
    for number in range(5):
        emit(api, f"Client {number}")
    with app.app_context():
        jobs.drain_events()  # the job's function, in this app context: no other job runs
        assert app.extensions["hub.redis"].llen(pending.PENDING) == 0  # three batches
        wait_all_idle(app.extensions)  # what it woke is done
        assert len(fast.received) == 5
