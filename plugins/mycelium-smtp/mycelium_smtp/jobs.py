"""The plugin's jobs: the minute queue run, the hourly digest check, and urgent sends."""

from __future__ import annotations

import logging

import hub
from hub import PluginContext
from mycelium_smtp import delivery, digests, queue
from mycelium_smtp.alerts import announce_failure

log = logging.getLogger(__name__)
DELIVERY_BUDGET = 50.0


def send_now(org_id: int, ids: list[int]) -> None:
    """Job: send these urgent or high-priority rows now (within the rate limit)."""
    ctx = hub.context_for("smtp", org_id)
    if ctx is not None:
        delivery.deliver(ctx, ids=list(ids))


def deliver_org(org_id: int) -> delivery.Report | None:
    """Job: send one organization's due rows over one connection, for up to a minute's
    worth of time (the next minute's run carries on; claims keep the two apart)."""
    ctx = hub.context_for("smtp", org_id)
    return delivery.deliver(ctx, budget_seconds=DELIVERY_BUDGET) if ctx is not None else None


def process_queue() -> list[int]:
    """Every minute: put back rows of dead workers, then one delivery job per org that has
    mail due (so the cost follows the mail, not the number of organizations)."""
    db = hub.db_session()
    failed = queue.sweep_expired_leases(db)
    due = queue.due_org_ids(db)
    for row in failed:
        ctx = hub.context_for("smtp", row.org_id)
        if ctx is not None:
            announce_failure(ctx, row)
    db.commit()
    for org_id in due:
        hub.enqueue("mycelium_smtp.jobs.deliver_org", org_id)
    return due


def send_digests(ctx: PluginContext) -> int:
    """Every hour, for each organization (the hub calls it once per enabled integration):
    queue the digests due at its local time."""
    return digests.run_due(ctx)
