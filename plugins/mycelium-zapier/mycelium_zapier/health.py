"""A subscription's health: a success resets its failure clock; days of nothing but failures
disable it (like a webhook endpoint) and admins are told through an event."""

from __future__ import annotations

from typing import Any

from sqlalchemy import update

from hub import PluginContext, now
from mycelium_zapier.models import DELIVERIES, FAILED, PENDING, ZapierHook
from mycelium_zapier.provider import HOOK_DISABLED
from mycelium_zapier.retry import Policy
from mycelium_zapier.sender import Outcome


def record_health(ctx: PluginContext, hook: ZapierHook, outcome: Outcome, policy: Policy) -> None:
    at = now()
    if outcome.ok:
        hook.failing_since, hook.last_success_at = None, at
    elif hook.failing_since is None:
        hook.failing_since = at
    elif hook.enabled and policy.should_disable(hook.failing_since, at):
        days = policy.disable_after.total_seconds() / 86400
        disable(ctx, hook, f"Every delivery failed for {days:g} days.")


def disable(ctx: PluginContext, hook: ZapierHook, reason: str) -> None:
    """Stop delivering to `hook`: its pending deliveries fail; an event tells the admins."""
    hook.enabled, hook.disabled_reason = False, reason
    c = DELIVERIES.c
    ctx.db.execute(
        update(DELIVERIES)
        .where(c.hook_id == hook.id, c.state == PENDING, c.lease_until.is_(None))
        .values(state=FAILED, next_attempt_at=None, last_error=reason, finished_at=now())
    )
    ctx.emit(HOOK_DISABLED, _event_data(hook))


def _event_data(hook: ZapierHook) -> dict[str, Any]:
    # not the target URL: whoever holds it can post into the Zap
    return {
        "id": hook.id,
        "event": hook.event,
        "zap_id": hook.zap_id,
        "reason": hook.disabled_reason,
    }
