"""The sender's claim on PostgreSQL: it reads the ids its subquery picked, not every due
delivery of the organization, however stale the statistics it was planned with."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from mycelium_zapier.delivery import claim_statement
from sqlalchemy import text
from zapier_helpers import subscribe

from hub import now
from hub.testing.plans import generic_plan, rows_read

BACKLOG = 3000
LEASE = timedelta(seconds=16)


def backlog(session: Any, hook_id: int, org_id: int, count: int) -> None:
    """`count` pending deliveries to the hook, due a minute ago."""
    session.execute(
        text(
            "INSERT INTO zapier_deliveries (org_id, hook_id, event_id, event_type, body, state,"
            " attempts, next_attempt_at, created_at)"
            " SELECT :org, :hook, 'evt_backlog_' || n, 'client.created', '{}', 'pending', 0,"
            " :due, :due FROM generate_series(1, :count) AS n"
        ),
        {"org": org_id, "hook": hook_id, "count": count, "due": now() - timedelta(minutes=1)},
    )


def test_the_claim_reads_the_rows_it_leases_whatever_the_statistics_say(
    app, api, zapier, receiver, plugin_context
):
    """Planned with the statistics of a table that had one row, the claim joined the 8 ids
    its subquery picked to every due delivery of the organization (50,010 rows read with
    5,000 due, 12 ms)."""
    hook = subscribe(api, receiver.url("/plan"))
    with app.app_context():
        ctx = plugin_context("zapier")
        session, org_id = ctx.db, ctx.org.id
        if session.get_bind().dialect.name != "postgresql":
            pytest.skip("PostgreSQL's plans")
        backlog(session, hook["id"], org_id, 1)
        session.commit()
        session.execute(text("ANALYZE zapier_deliveries"))  # one row: few due
        session.execute(text("DELETE FROM zapier_deliveries"))
        backlog(session, hook["id"], org_id, BACKLOG)  # a backlog the statistics have not seen
        session.commit()
        at = now()
        with session.get_bind().connect() as conn:
            plan = generic_plan(conn, claim_statement(org_id, 8, LEASE, at))
            conn.rollback()
            plain = generic_plan(conn, claim_statement(org_id, 8, LEASE, at, check=lambda c: c))
            conn.rollback()
    assert rows_read(plan) < 50, json.dumps(plan)
    assert rows_read(plain) > BACKLOG  # the plain condition: the fault this guards against
