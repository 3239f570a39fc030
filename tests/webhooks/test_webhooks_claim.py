"""The pump's claim: the oldest due deliveries of each organization in turn, at most its
share of each, none of the organizations it skips, none that is leased or not due yet;
and what it reads is bounded by what it leases (each organization's oldest, from an index),
whatever the backlog behind them."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import update
from support.webhook_tools import LOOPBACK, deliveries, dispatch_only, emit, register

from hub.core import clock
from hub.core.db import scope_to_org
from hub.core.webhooks.delivery import claim
from hub.core.webhooks.models import DELIVERIES
from hub.extensions import db

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
