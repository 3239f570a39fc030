"""Push notifications: ``events.watch`` channels, renewed before they expire, stopped on
disconnect, and the check of each notification Google posts to the hub.

A channel's token (``X-Goog-Channel-Token``) is 256 random bits the hub chose; only its
SHA-256 is stored, and a notification is acted on only when its channel id is known, live
and its token matches; a wrong or missing token is a failed authentication (401, counted
per address like a bad signature), while an unknown or stopped channel is a 404 that is not
counted, since Google itself may still post for a channel the hub has just stopped. A
notification carries no data: it queues an incremental sync (coalesced: a burst of them
makes one sync).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from hub import HubError, InvalidSignature, PluginContext, now
from mycelium_gcal import access
from mycelium_gcal.models import Channel

LIFETIME = timedelta(days=7)  # what the hub asks for; Google may grant less
RENEW_BEFORE = timedelta(hours=6)  # the 15-minute job renews a channel this close to its end
NOTIFY_PATH = "/api/integrations/gcal/notifications"
FEATURE = "push_channel"


class InvalidChannelToken(InvalidSignature):
    """A notification without its channel's token (401): like a bad signature, it counts
    against the sender's address for the hub's failed-authentication limit."""

    code = "invalid_channel_token"


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def address(ctx: PluginContext) -> str:
    base = str(ctx.setting("HUB_APP_URL") or "").rstrip("/")
    return f"{base}{NOTIFY_PATH}"


def live(ctx: PluginContext) -> list[Channel]:
    stmt = select(Channel).where(
        Channel.org_id == ctx.org.id, Channel.stopped_at.is_(None), Channel.expires_at > now()
    )
    return list(ctx.db.scalars(stmt.order_by(Channel.expires_at.desc())))


def needs_channel(ctx: PluginContext) -> bool:
    """No live channel on the configured calendar lasts beyond the renewal margin."""
    calendar = str(access.config(ctx)["calendar_id"])
    return not any(
        c.calendar_id == calendar and c.expires_at > now() + RENEW_BEFORE for c in live(ctx)
    )


def open_channel(ctx: PluginContext) -> Channel:
    """Watch the configured calendar; older channels are stopped once the new one is live."""
    calendar, token = str(access.config(ctx)["calendar_id"]), secrets.token_urlsafe(32)
    row = Channel(
        org_id=ctx.org.id,
        channel_id=uuid.uuid4().hex,
        token_hash=token_hash(token),
        calendar_id=calendar,
        expires_at=now() + LIFETIME,
    )
    ctx.db.add(row)
    ctx.db.commit()  # known before Google's first ("sync") notification arrives
    ctx.calls_are_for(FEATURE)
    expiration = int((now() + LIFETIME).timestamp() * 1000)
    channel = {"id": row.channel_id, "type": "web_hook", "address": address(ctx), "token": token}
    try:
        answer = access.calendar_client(ctx).watch(
            calendar, {**channel, "expiration": str(expiration)}
        )
    except HubError:
        ctx.db.delete(row)
        ctx.db.commit()
        raise
    _granted(row, answer)
    ctx.db.commit()
    stop_others(ctx, keep=row.channel_id)
    return row


def _granted(row: Channel, answer: dict[str, object]) -> None:
    row.resource_id = str(answer.get("resourceId") or "") or None
    expiration = answer.get("expiration")
    if isinstance(expiration, (str, int)) and str(expiration).isdigit():
        granted = datetime.fromtimestamp(int(expiration) / 1000, tz=UTC)
        row.expires_at = min(row.expires_at, granted)


def stop_others(ctx: PluginContext, keep: str | None = None) -> int:
    """Stop every live channel but `keep`; how many Google confirmed."""
    rows = [c for c in live(ctx) if c.channel_id != keep]
    targets = [(c.id, c.channel_id, c.resource_id) for c in rows]
    access.end_transaction(ctx)
    stopped = 0
    for row_id, channel_id, resource_id in targets:
        stopped += int(_stop(ctx, channel_id, resource_id))
        found = ctx.db.get(Channel, row_id)
        if found is not None:
            found.stopped_at = now()
        ctx.db.commit()
    return stopped


def _stop(ctx: PluginContext, channel_id: str, resource_id: str | None) -> bool:
    if not resource_id or not access.connected(ctx):
        return False
    ctx.calls_are_for(FEATURE)
    try:
        return access.calendar_client(ctx).stop_channel(channel_id, resource_id)
    except HubError as exc:  # it expires by itself; its notifications are refused
        ctx.log.warning("stopping Google channel %s failed: %s", channel_id, exc)
        return False


def stop_all(ctx: PluginContext) -> int:
    return stop_others(ctx, keep=None)


def find(session: Any, channel_id: str | None) -> Channel | None:
    """The live channel a notification names (any organization's), if there is one."""
    if not channel_id or len(channel_id) > 64:
        return None
    row: Channel | None = session.scalar(select(Channel).where(Channel.channel_id == channel_id))
    if row is None or row.stopped_at is not None or row.expires_at <= now():
        return None
    return row


def token_matches(row: Channel, token: str | None) -> bool:
    """Is `token` the one the hub chose for this channel (constant-time)?"""
    if not token or len(token) > 256:
        return False
    return hmac.compare_digest(row.token_hash, token_hash(token))
