"""The plugin's jobs: the minute queue run, the hourly digest check, and urgent sends."""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session

from hub import PluginContext
from mycelium_smtp import delivery, digests, hubapi, queue

log = logging.getLogger(__name__)
SEND_NOW = "smtp_send_now"
DELIVERY_BUDGET = 50.0


def send_after_commit(ctx: PluginContext, email_id: int) -> None:
    """Send this row as soon as the transaction that queued it commits."""
    pending = ctx.db.info.setdefault(SEND_NOW, {"redis": ctx.redis, "rows": {}})
    pending["rows"].setdefault(ctx.org.id, []).append(email_id)


@event.listens_for(Session, "after_commit")
def _enqueue_committed(session: Session) -> None:
    pending = session.info.pop(SEND_NOW, None)
    if not pending:
        return
    for org_id, ids in pending["rows"].items():
        try:
            hubapi.enqueue(pending["redis"], "mycelium_smtp.jobs.send_now", org_id, ids)
        except Exception as exc:  # the minute run sends them anyway
            log.warning("urgent email(s) %s wait for the next queue run: %s", ids, exc)


@event.listens_for(Session, "after_rollback")
def _forget(session: Session) -> None:
    session.info.pop(SEND_NOW, None)


def send_now(org_id: int, ids: list[int]) -> None:
    """Job: send these urgent or high-priority rows now (within the rate limit)."""
    ctx = hubapi.integration_context(hubapi.session(), org_id)
    if ctx is not None:
        delivery.deliver(ctx, ids=list(ids))


def deliver_org(org_id: int) -> delivery.Report | None:
    """Job: send one organization's due rows over one connection, for up to a minute's
    worth of time (the next minute's run carries on; claims keep the two apart)."""
    ctx = hubapi.integration_context(hubapi.session(), org_id)
    return delivery.deliver(ctx, budget_seconds=DELIVERY_BUDGET) if ctx is not None else None


def process_queue() -> list[int]:
    """Every minute: put back rows of dead workers, then one delivery job per org that has
    mail due (so the cost follows the mail, not the number of organizations)."""
    db = hubapi.session()
    for row in queue.sweep_expired_leases(db):
        _announce(db, row)
    db.commit()
    due = queue.due_org_ids(db)
    redis = _redis()
    for org_id in due:
        hubapi.enqueue(redis, "mycelium_smtp.jobs.deliver_org", org_id)
    return due


def _announce(db: Any, row: Any) -> None:
    ctx = hubapi.integration_context(db, row.org_id)
    if ctx is not None:
        delivery.announce_failure(ctx, row)


def _redis() -> Any:
    from flask import current_app

    return current_app.extensions["hub.redis"]


def send_digests(ctx: PluginContext) -> int:
    """Every hour, for each organization (the hub calls it once per enabled integration):
    queue the digests due at its local time."""
    return digests.run_due(ctx)
