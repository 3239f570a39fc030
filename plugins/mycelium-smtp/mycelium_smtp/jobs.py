"""The plugin's jobs: the minute queue run, the hourly digest check, and urgent sends."""

from __future__ import annotations

import logging

import hub
from hub import PluginContext
from mycelium_smtp import delivery, digests, queue

log = logging.getLogger(__name__)
SEND_NOW = "mycelium_smtp.send_now"
DELIVERY_BUDGET = 50.0


class _SendNow:
    """The urgent rows one transaction queued, one job per organization once it commits."""

    def __init__(self) -> None:
        self.rows: dict[int, list[int]] = {}

    def __call__(self) -> None:
        for org_id, ids in self.rows.items():
            try:
                hub.enqueue("mycelium_smtp.jobs.send_now", org_id, ids)
            except Exception as exc:  # the minute run sends them anyway
                log.warning("urgent email(s) %s wait for the next queue run: %s", ids, exc)


def send_after_commit(ctx: PluginContext, email_id: int) -> None:
    """Send this row as soon as the transaction that queued it commits."""
    pending = hub.after_commit(ctx.db, _SendNow(), key=SEND_NOW)
    pending.rows.setdefault(ctx.org.id, []).append(email_id)


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
            delivery.announce_failure(ctx, row)
    db.commit()
    for org_id in due:
        hub.enqueue("mycelium_smtp.jobs.deliver_org", org_id)
    return due


def send_digests(ctx: PluginContext) -> int:
    """Every hour, for each organization (the hub calls it once per enabled integration):
    queue the digests due at its local time."""
    return digests.run_due(ctx)
