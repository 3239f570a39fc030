"""What admins see of deliveries: a subscription's recent deliveries with their attempts,
and resending one (the sender sends it once more, at once)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from hub import Conflict, NotFound, PluginContext, after_commit, enqueue, now
from mycelium_zapier.models import PENDING, ZapierAttempt, ZapierDelivery
from mycelium_zapier.payloads import iso
from mycelium_zapier.subscriptions import owned

LISTED = 50  # newest deliveries of a subscription shown


def listing(ctx: PluginContext, hook_id: int) -> list[dict[str, Any]]:
    """The subscription's newest deliveries, each with its attempts in order."""
    owned(ctx, hook_id)
    stmt = (
        select(ZapierDelivery)
        .where(ZapierDelivery.org_id == ctx.org.id, ZapierDelivery.hook_id == hook_id)
        .order_by(ZapierDelivery.id.desc())
        .limit(LISTED)
    )
    found = list(ctx.db.scalars(stmt))
    attempts = _attempts(ctx, [d.id for d in found])
    return [render(d, attempts.get(d.id, [])) for d in found]


def resend(ctx: PluginContext, delivery_id: int) -> dict[str, Any]:
    """Queue a finished delivery once more, due now; the sender is woken after the commit."""
    found = ctx.db.scalar(
        select(ZapierDelivery).where(
            ZapierDelivery.org_id == ctx.org.id, ZapierDelivery.id == delivery_id
        )
    )
    if found is None:
        raise NotFound(f"No Zapier delivery {delivery_id}.")
    if found.state == PENDING:
        raise Conflict("The delivery is pending already: it will be sent on its schedule.")
    found.state, found.next_attempt_at, found.finished_at = PENDING, now(), None
    # the request never sends: a worker's sender does, woken by a job
    after_commit(ctx.db, lambda: enqueue("mycelium_zapier.sending.wake", at_front=True))
    ctx.db.commit()
    return render(found, _attempts(ctx, [found.id]).get(found.id, []))


def _attempts(ctx: PluginContext, ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    grouped: dict[int, list[dict[str, Any]]] = {}
    if not ids:
        return grouped
    stmt = (
        select(ZapierAttempt)
        .where(ZapierAttempt.org_id == ctx.org.id, ZapierAttempt.delivery_id.in_(ids))
        .order_by(ZapierAttempt.delivery_id, ZapierAttempt.attempt, ZapierAttempt.id)
    )
    for attempt in ctx.db.scalars(stmt):
        grouped.setdefault(attempt.delivery_id, []).append(
            {
                "attempt": attempt.attempt,
                "attempted_at": iso(attempt.attempted_at),
                "status_code": attempt.status_code,
                "duration_ms": attempt.duration_ms,
                "response_body": attempt.response_body,
                "error": attempt.error,
            }
        )
    return grouped


def render(delivery: ZapierDelivery, attempts: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "id": delivery.id,
        "hook_id": delivery.hook_id,
        "event_id": delivery.event_id,
        "event_type": delivery.event_type,
        "state": delivery.state,
        "attempts": delivery.attempts,
        "next_attempt_at": _when(delivery.next_attempt_at),
        "last_status": delivery.last_status,
        "last_error": delivery.last_error,
        "created_at": iso(delivery.created_at),
        "finished_at": _when(delivery.finished_at),
        "attempt_log": attempts,
    }


def _when(value: Any) -> str | None:
    return None if value is None else iso(value)
