"""REST-hook subscriptions: subscribe, list, unsubscribe, and each one's signing secret.

A subscription's secret is derived from the integration's master secret (kept encrypted
by the hub) and the subscription's id, so the plugin stores no secret of its own:
``whsec_`` + base64(HMAC-SHA256(master, "zapier-hook:<id>")).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from typing import Any

from sqlalchemy import delete, select

from hub import Conflict, NotFound, PluginContext, ValidationError, check_url
from mycelium_zapier.models import ATTEMPTS, DELIVERIES, ZapierHook
from mycelium_zapier.payloads import iso

MASTER_SECRET = "signing_secret"


def derive_secret(master: str, hook_id: int) -> str:
    digest = hmac.new(master.encode(), f"zapier-hook:{hook_id}".encode(), hashlib.sha256)
    return "whsec_" + base64.b64encode(digest.digest()).decode()


def master_secret(ctx: PluginContext) -> str:
    secret = ctx.secret(MASTER_SECRET)
    if not secret:
        raise Conflict("Zapier has no signing secret: enable it again (PUT) to generate one.")
    return secret


def check_event(event: str, catalogue: Mapping[str, str]) -> str:
    if event not in catalogue:
        message = f"Unknown event type {event!r} (see GET /api/events/types)."
        raise ValidationError(message, {"event": [message]})
    return event


def subscribe(
    ctx: PluginContext, fields: dict[str, Any], catalogue: Mapping[str, str]
) -> dict[str, Any]:
    """A new subscription (committed); the answer holds its secret."""
    secret = master_secret(ctx)
    hook = ZapierHook(
        org_id=ctx.org.id,
        target_url=check_url(fields["target_url"], field="target_url"),
        event=check_event(fields["event"], catalogue),
        zap_id=fields.get("zap_id"),
    )
    ctx.db.add(hook)
    ctx.db.flush()
    rendered = {**render(hook), "secret": derive_secret(secret, hook.id)}
    ctx.db.commit()
    return rendered


def owned(ctx: PluginContext, hook_id: int) -> ZapierHook:
    hook = ctx.db.scalar(
        select(ZapierHook).where(ZapierHook.org_id == ctx.org.id, ZapierHook.id == hook_id)
    )
    if hook is None:
        raise NotFound(f"No Zapier subscription {hook_id}.")
    return hook


def listing(ctx: PluginContext) -> list[dict[str, Any]]:
    stmt = select(ZapierHook).where(ZapierHook.org_id == ctx.org.id).order_by(ZapierHook.id)
    return [render(hook) for hook in ctx.db.scalars(stmt)]


def remove(session: Any, hook: ZapierHook) -> None:
    """Delete a subscription and its deliveries (pending ones are never sent) with their
    attempts."""
    of_hook = select(DELIVERIES.c.id).where(DELIVERIES.c.hook_id == hook.id)
    session.execute(delete(ATTEMPTS).where(ATTEMPTS.c.delivery_id.in_(of_hook)))
    session.execute(delete(DELIVERIES).where(DELIVERIES.c.hook_id == hook.id))
    session.delete(hook)


def _when(value: Any) -> str | None:
    return iso(value) if value is not None else None


def render(hook: ZapierHook) -> dict[str, Any]:
    return {
        "id": hook.id,
        "event": hook.event,
        "target_url": hook.target_url,
        "zap_id": hook.zap_id,
        "status": "enabled" if hook.enabled else "disabled",
        "disabled_reason": hook.disabled_reason,
        "failing_since": _when(hook.failing_since),
        "last_success_at": _when(hook.last_success_at),
        "created_at": _when(hook.created_at),
    }
