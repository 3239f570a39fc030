"""Short leases, renewed while held: a delivery that waits behind a slow receiver for several
leases is never sent twice while its pump lives, what a dead pump held goes out again once
its lease lapses, and a pump that finds a delivery taken by another worker neither sends it
nor records over the other's claim."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from sqlalchemy import update
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

from hub.core import clock
from hub.core.background import wait_all_idle
from hub.core.db import scope_to_org
from hub.core.webhooks.delivery import claim, next_due
from hub.core.webhooks.lease import LEASE_MARGIN, Leases
from hub.core.webhooks.models import DELIVERIES
from hub.core.webhooks.pump import Pump
from hub.default_plugins import webhooks as plugin
from hub.extensions import db

TIMEOUT = 1.0  # HUB_WEBHOOK_TIMEOUT here: leases of 2 s


@pytest.fixture
def hub_config(hub_config):
    return {
        **hub_config,
        **LOOPBACK,
        "HUB_WEBHOOK_CONCURRENCY": "1",
        "HUB_WEBHOOK_TIMEOUT": str(TIMEOUT),
    }


@pytest.fixture
def slow():
    yield from running_receiver()


def made(app, api, url, count):
    """`count` deliveries made and committed, no pump started."""
    register(api, url)
    for number in range(count):
        emit(api, f"Client {number}")
    dispatch_only(app)


def test_the_lease_is_one_send_timeout_and_a_margin(app):
    with app.app_context():
        lease = plugin.settings(app).lease
    assert lease == timedelta(seconds=TIMEOUT + LEASE_MARGIN)


def test_a_delivery_held_for_several_leases_is_sent_once_beside_a_second_pump(app, api, slow):
    # one thread for the organization, ten held (up to 12): the last waits 7.2 s, 2.4 leases
    # of 3 s, renewed every 0.75 s (a stall of over 2 s would let the second pump take some)
    app.config.update(
        HUB_WEBHOOK_CONCURRENCY=3, HUB_WEBHOOK_ORG_CONCURRENCY=1, HUB_WEBHOOK_TIMEOUT=2.0
    )
    count, delay = 10, 0.8
    slow.answer(*[Answer(delay=delay)] * count)
    made(app, api, slow.url(), count)
    stolen, started = 0, time.monotonic()
    with app.app_context():
        scope_to_org(db.session, None)
        settings = plugin.settings(app)
        second = Pump(db.session, app.extensions["hub.keyring"], plugin.pooled_http(app), settings)
        plugin.deliver_due()  # this worker's pump claims all eight
        wait_until(lambda: slow.received)
        while len(slow.received) < count and time.monotonic() - started < 30:
            # meanwhile a second pump looks for due deliveries and the sweeper finds none free
            stolen += second.run().sent + len(claim(db.session, 100, settings.lease))
            assert next_due(db.session) is None
            time.sleep(0.2)
        wait_all_idle(app.extensions)
        db.session.remove()
    assert time.monotonic() - started > 2 * settings.lease.total_seconds()
    assert stolen == 0
    ids = [r.header("webhook-id") for r in slow.received]
    assert len(ids) == len(set(ids)) == count
    rows = deliveries(app)
    assert [(d.state, d.attempts, d.lease_until) for d in rows] == [("succeeded", 1, None)] * count
    assert all(len(attempts(app, d.id)) == 1 for d in rows)


def test_a_dead_pumps_deliveries_go_out_once_its_last_lease_lapses(app, api, slow, hub_clock):
    made(app, api, slow.url(), 3)
    lease = timedelta(seconds=TIMEOUT + LEASE_MARGIN)
    with app.app_context():
        scope_to_org(db.session, None)
        held = Leases(lease)
        held.claimed(claim(db.session, 100, lease))  # a pump claims them ...
        hub_clock.advance(seconds=1.5)
        assert held.renew(db.session) == set()  # ... renews their leases ...
        db.session.remove()  # ... and dies: nothing recorded, nothing given back
    hub_clock.advance(seconds=1)  # the claim's own lease has lapsed, the renewed one holds
    deliver(app)  # the sweeper and a pump
    assert not slow.received
    assert all(d.state == "pending" and d.attempts == 0 for d in deliveries(app))
    hub_clock.advance(seconds=lease.total_seconds() - 1 + 0.001)  # one lease after renewing
    deliver(app)
    assert len(slow.received) == 3
    assert [(d.state, d.attempts) for d in deliveries(app)] == [("succeeded", 1)] * 3


def test_a_pump_neither_sends_nor_records_what_another_worker_took(app, api, slow):
    app.config["HUB_WEBHOOK_TIMEOUT"] = 2.0  # renewed every 0.75 s while the first is awaited
    slow.answer(Answer(delay=1.9))
    made(app, api, slow.url(), 3)
    with app.app_context():
        plugin.deliver_due()
        wait_until(lambda: slow.received)
        [in_flight] = [d for d in deliveries(app) if d.event_id == first_id(slow)]
        waiting = next(d for d in deliveries(app) if d.id != in_flight.id)
        # another worker's claim (as if this pump had stalled past its leases meanwhile)
        theirs = clock.now() + timedelta(hours=1)
        db.session.execute(
            update(DELIVERIES)
            .where(DELIVERIES.c.id.in_([in_flight.id, waiting.id]))
            .values(lease_until=theirs)
        )
        db.session.commit()
        wait_all_idle(app.extensions)
        db.session.remove()
    sent = [r.header("webhook-id") for r in slow.received]
    assert waiting.event_id not in sent  # not started: not sent
    assert len(sent) == 2
    rows = {d.id: d for d in deliveries(app)}
    for taken in (in_flight.id, waiting.id):  # the other worker's claim is left as it was
        row = rows.pop(taken)
        assert (row.state, row.attempts, row.lease_until) == ("pending", 0, theirs)
        assert attempts(app, taken) == []
    [(state, tries)] = [(d.state, d.attempts) for d in rows.values()]
    assert (state, tries) == ("succeeded", 1)


def first_id(receiver):
    return receiver.received[0].header("webhook-id")


def wait_until(condition, timeout=10.0):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)
