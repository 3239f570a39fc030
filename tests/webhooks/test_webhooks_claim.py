"""The pump's claim: the oldest due deliveries of each organization in turn, at most its
share of each, none of the organizations it skips, none that is leased or not due yet;
and what it reads is bounded by what it leases (each organization's oldest, from an index),
whatever the backlog behind them."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import text, update
from support.webhook_tools import LOOPBACK, deliveries, dispatch_only, emit, register

from hub.core import clock
from hub.core.db import scope_to_org
from hub.core.webhooks.delivery import _LEASE, _PENDING_ORGS, claim
from hub.core.webhooks.models import DELIVERIES
from hub.extensions import db
from hub.testing.plans import generic_plan, rows_read

LEASE = timedelta(seconds=30)


@pytest.fixture
def hub_config(hub_config):
    return {**hub_config, **LOOPBACK}


def backlog(app, api, count: int) -> list[int]:
    """`count` deliveries of one organization's endpoint, dispatched, none sent: their ids."""
    endpoint = register(api, "http://127.0.0.1:9/hook")
    for number in range(count):
        emit(api, f"Client {number}")
    dispatch_only(app)
    return [d.id for d in deliveries(app, endpoint["id"])]


def due_at(app, seconds: dict[int, float]) -> None:
    """Each delivery due this many seconds from now (negative: already due)."""
    now = clock.now()
    with app.app_context():
        for delivery_id, offset in seconds.items():
            db.session.execute(
                update(DELIVERIES)
                .where(DELIVERIES.c.id == delivery_id)
                .values(next_attempt_at=now + timedelta(seconds=offset))
            )
        db.session.commit()


def claimed(app, limit: int, per_org: int | None = None, skip: tuple[int, ...] = ()) -> list[int]:
    with app.app_context():
        scope_to_org(db.session, None)
        return [d.id for d in claim(db.session, limit, LEASE, per_org, skip)]


def test_organizations_take_turns_oldest_first_up_to_their_share(app, api, other_api, other_org):
    a1, a2, a3, a4 = backlog(app, api, 4)
    b1, b2 = backlog(app, other_api, 2)
    due_at(app, {a1: -9, a2: -8, a3: -7, a4: -6, b1: -10, b2: -5})
    # first each organization's oldest (the older first), then each one's second
    assert claimed(app, limit=3, per_org=2) == [b1, a1, a2]
    assert claimed(app, limit=10, per_org=2) == [a3, b2, a4]  # the others are leased now


def test_an_organization_gets_no_more_than_its_share(app, api, other_api):
    a = backlog(app, api, 5)
    b = backlog(app, other_api, 1)
    due_at(app, {**{d: -20 + n for n, d in enumerate(a)}, b[0]: -1})
    assert claimed(app, limit=10, per_org=2) == [a[0], b[0], a[1]]
    assert claimed(app, limit=10) == a[2:]  # without a share: as many as the limit


def test_skipped_organizations_and_deliveries_not_due_are_left(app, api, other_api, other_org):
    a1, a2 = backlog(app, api, 2)
    (b1,) = backlog(app, other_api, 1)
    due_at(app, {a1: -5, a2: 60, b1: -6})  # a2 is due in a minute
    assert claimed(app, limit=10, skip=(other_org.org.id,)) == [a1]
    assert claimed(app, limit=10) == [b1]
    assert claimed(app, limit=10) == []


def test_a_long_backlog_is_claimed_in_order_one_share_at_a_time(app, api):
    ids = backlog(app, api, 30)
    due_at(app, {d: -100 + n for n, d in enumerate(ids)})
    taken = [claimed(app, limit=8, per_org=8) for _ in range(4)]
    assert taken == [ids[0:8], ids[8:16], ids[16:24], ids[24:30]]


def _one_delivery_on_postgresql(app, api) -> tuple[dict, int]:
    """An endpoint and one pending delivery to it (the test is PostgreSQL's plans only)."""
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("PostgreSQL's plans")
    endpoint = register(api, "http://127.0.0.1:9/hook")
    emit(api, "Client first")
    dispatch_only(app)
    (delivery_id,) = [d.id for d in deliveries(app, endpoint["id"])]
    return endpoint, delivery_id


def _copies(delivery_id: int, count: int, sent: bool) -> None:
    """`count` copies of a delivery (other event ids), as it is or as sent (succeeded)."""
    state, attempts, due, finished = (
        ("'succeeded'", "1", "NULL", "updated_at")
        if sent
        else ("state", "0", "next_attempt_at", "NULL")
    )
    db.session.execute(
        text(
            "INSERT INTO webhook_deliveries (org_id, endpoint_id, event_id, event_type, body,"
            " state, attempts, next_attempt_at, manual, created_at, updated_at, finished_at)"
            f" SELECT org_id, endpoint_id, 'evt_copy_' || n, event_type, body, {state},"
            f" {attempts}, {due}, manual, created_at, updated_at, {finished}"
            " FROM webhook_deliveries, generate_series(1, :count) AS n WHERE id = :id"
        ),
        {"id": delivery_id, "count": count},
    )


def test_finding_the_pending_organizations_skips_the_history_in_ageneric_plan(app, api):
    """psycopg prepares a statement run five times, and PostgreSQL may then plan it once for
    any parameters. With the state as a parameter that plan walked every delivery ever made
    (succeeded ones too) to find the organizations with pending ones."""
    endpoint, old = _one_delivery_on_postgresql(app, api)
    with app.app_context():
        _copies(old, 3000, sent=True)  # a history: 3,000 deliveries sent before (this one too)
        sent = update(DELIVERIES).where(DELIVERIES.c.id == old).values(state="succeeded")
        db.session.execute(sent)
        db.session.commit()
    emit(api, "Client now")  # the one pending delivery, newer than the history
    dispatch_only(app)
    (first,) = [d.id for d in deliveries(app, endpoint["id"]) if d.state == "pending"]
    with app.app_context(), db.engine.connect() as conn:
        conn.exec_driver_sql("ANALYZE webhook_deliveries")
        plan = generic_plan(conn, _PENDING_ORGS)
        conn.rollback()
    assert rows_read(plan) < 50, json.dumps(plan)
    assert claimed(app, limit=10) == [first]


def test_the_lease_finds_its_deliveries_by_id_whatever_the_statistics_say(app, api):
    """Planned while the table was small (its statistics: a few pending rows), the lease
    read every due delivery through ix_webhook_deliveries_due and kept the few it was
    given by id: 10-12 ms per claim at 30,000 pending."""
    _, first = _one_delivery_on_postgresql(app, api)
    with app.app_context():
        db.session.execute(text("ANALYZE webhook_deliveries"))  # one row: few pending
        _copies(first, 3000, sent=False)  # then a backlog the statistics have not seen
        db.session.commit()
        now = clock.now()
        with db.engine.connect() as conn:
            plan = generic_plan(
                conn, _LEASE.values(updated_at=now), c_ids=[first], c_now=now, c_until=now + LEASE
            )
            conn.rollback()
    assert rows_read(plan) < 50, json.dumps(plan)
