"""Organizations take turns for the pump's threads: one organization's slow endpoints hold
at most HUB_WEBHOOK_ORG_CONCURRENCY of them, and another's deliveries go out beside them.
And how often the pump claims: a backlog goes out a claim at a time, with no claim in between
that could find nothing, and the pump still sends every backlog before it stops."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import event
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
from hub.core.db import scope_to_org
from hub.core.runs import pending
from hub.core.webhooks import pump as pump_module
from hub.core.webhooks.pump import Pump
from hub.default_plugins import webhooks as plugin
from hub.extensions import db


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


def test_a_drain_job_wakes_its_own_pump_without_a_pump_job(app, api, fast, monkeypatch):
    """A backlog's deliveries go out while the drain job still dispatches: the worker's
    pump is woken after each batch of runs, not by the pump job queued at the job's end."""
    app.config["HUB_RUN_BATCH"] = 2
    # all three batches in this one job, however loaded the machine (the pump's thread
    # shares the interpreter; under a full CI run the job's 0.5 s once ran out after two)
    monkeypatch.setattr(pending, "DRAIN_SECONDS", 60.0)
    register(api, fast.url())
    for number in range(5):
        emit(api, f"Client {number}")
    with app.app_context():
        jobs.drain_events()  # the job's function, in this app context: no other job runs
        assert app.extensions["hub.redis"].llen(pending.PENDING) == 0  # three batches
        wait_all_idle(app.extensions)  # what it woke is done
        assert len(fast.received) == 5


@contextmanager
def claims() -> Iterator[list[str]]:
    """The claims' first statements (the walk over organizations with pending deliveries)."""
    seen: list[str] = []

    def listen(conn, cursor, statement, *args) -> None:  # type: ignore[no-untyped-def]
        if "pending_orgs" in statement:
            seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", listen)
    try:
        yield seen
    finally:
        event.remove(db.engine, "before_cursor_execute", listen)


def test_one_organizations_backlog_goes_out_a_full_claim_at_a_time(app, api, fast):
    app.config["HUB_WEBHOOK_CONCURRENCY"] = 1  # claims of 4, an organization held to 8
    register(api, fast.url())
    for number in range(10):
        emit(api, f"Client {number}")
    dispatch_only(app)
    with app.app_context():
        scope_to_org(db.session, None)
        settings = plugin.settings(app)
        assert (settings.claim_size, settings.depth) == (4, 8)
        pump = Pump(db.session, app.extensions["hub.keyring"], plugin.pooled_http(app), settings)
        with claims() as seen:
            report = pump.run()  # no loop: returns when nothing is due or in flight
        db.session.remove()
    # 4 + 4 (the second while the first is sent) + 2 once half is recorded; a claim that
    # found the organization at its depth leased nothing (once 4 claims here)
    assert len(seen) == 3
    assert report.sent == len(fast.received) == 10
    assert [(d.state, d.attempts) for d in deliveries(app)] == [("succeeded", 1)] * 10


def test_two_organizations_backlogs_both_go_out_before_the_pump_stops(app, api, other_api, fast):
    app.config["HUB_WEBHOOK_CONCURRENCY"] = 1
    # a claim of 4 takes 2 of each, until both are at their depth (8), and the pump
    # claims again only as they are recorded: neither is left behind when it stops
    register(api, fast.url())
    register(other_api, fast.url())
    for number in range(10):
        emit(api, f"Mine {number}")
        emit(other_api, f"Theirs {number}")
    dispatch_only(app)
    with app.app_context():
        scope_to_org(db.session, None)
        settings = plugin.settings(app)
        pump = Pump(db.session, app.extensions["hub.keyring"], plugin.pooled_http(app), settings)
        report = pump.run()
        db.session.remove()
    assert report.sent == len(fast.received) == 20
    rows = deliveries(app)
    assert len({d.org_id for d in rows}) == 2
    assert [(d.state, d.attempts) for d in rows] == [("succeeded", 1)] * 20


def test_a_round_that_finds_nothing_due_does_not_wait_for_results(app, api, fast, monkeypatch):
    """With nothing on a thread no outcome can come: the pump looks again (or stops) at once.
    It had waited FLUSH_SECONDS for one, and a wake meanwhile waited with it: at 100 events
    a second, deliveries went out 55 ms after dispatch at the median instead of 7 ms."""
    monkeypatch.setattr(pump_module, "FLUSH_SECONDS", 30.0)
    register(api, fast.url())
    with app.app_context():
        scope_to_org(db.session, None)
        settings = plugin.settings(app)
        pump = Pump(db.session, app.extensions["hub.keyring"], plugin.pooled_http(app), settings)
        started = time.monotonic()
        report = pump.run()  # nothing is due
        took = time.monotonic() - started
        db.session.remove()
    assert report.sent == 0
    assert took < 10, took  # not the 30 s it would wait for an outcome
