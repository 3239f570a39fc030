"""How often the pump claims: an organization's backlog goes out a claim at a time, with no
claim in between that could find nothing (each organization it found at its depth), and the
pump still sends the whole backlog before it stops."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import event
from support.webhook_tools import (
    LOOPBACK,
    deliveries,
    dispatch_only,
    emit,
    register,
    running_receiver,
)

from hub.core.db import scope_to_org
from hub.core.webhooks.pump import Pump
from hub.default_plugins import webhooks as plugin
from hub.extensions import db


@pytest.fixture
def hub_config(hub_config):
    # one thread: claims of 4 deliveries, an organization held to 4 at a time
    return {**hub_config, **LOOPBACK, "HUB_WEBHOOK_CONCURRENCY": "1"}


@pytest.fixture
def receiver():
    yield from running_receiver()


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


def test_one_organizations_backlog_goes_out_a_full_claim_at_a_time(app, api, receiver):
    register(api, receiver.url())
    for number in range(10):
        emit(api, f"Client {number}")
    dispatch_only(app)
    with app.app_context():
        scope_to_org(db.session, None)
        settings = plugin.settings(app)
        assert (settings.claim_size, settings.depth) == (4, 4)
        pump = Pump(db.session, app.extensions["hub.keyring"], plugin.pooled_http(app), settings)
        with claims() as seen:
            report = pump.run()  # no loop: returns when nothing is due or in flight
        db.session.remove()
    # 4 + 4 + 2; before, a claim right after a full one found the organization at its
    # depth and leased nothing (4 claims here)
    assert len(seen) == 3
    assert report.sent == len(receiver.received) == 10
    assert [(d.state, d.attempts) for d in deliveries(app)] == [("succeeded", 1)] * 10


def test_two_organizations_backlogs_both_go_out_before_the_pump_stops(
    app, api, other_api, receiver
):
    # a claim of 4 takes 2 of each; the next fills both to their depth, and the pump
    # claims again only as they are recorded: neither is left behind when it stops
    register(api, receiver.url())
    register(other_api, receiver.url())
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
    assert report.sent == len(receiver.received) == 20
    rows = deliveries(app)
    assert len({d.org_id for d in rows}) == 2
    assert [(d.state, d.attempts) for d in rows] == [("succeeded", 1)] * 20
