"""Connecting Slack, and the daily user sync of each connected organization."""

from __future__ import annotations

from hub import EventInfo, PluginContext
from mycelium_slack import alerts, notify, users

ACCESS_TOKEN = "oauth.access_token"


def connected(ctx: PluginContext) -> bool:
    return ctx.secret(ACCESS_TOKEN) is not None


def on_connect(ctx: PluginContext, event: EventInfo) -> None:
    """Map the team's users, then prove the connection with a message (once per event)."""
    if not connected(ctx):
        ctx.log.info("Slack enabled but not connected yet; waiting for the OAuth connect")
        return
    result = users.sync_all(ctx.db, ctx.org.id, notify.slack_client(ctx))
    ctx.log.info("Slack users synced: %s", result.summary())
    if notify.already_posted(ctx, event.id):
        return
    message = alerts.test_message(notify.frame_for(ctx), notify.channel_label(ctx), None)
    notify.record(ctx, event.id, notify.deliver(ctx, message, feature="test"))


def sync_users_job(ctx: PluginContext) -> None:
    """The daily job, once per connected organization: refresh its user mapping."""
    if not connected(ctx):
        return
    result = users.sync_all(ctx.db, ctx.org.id, notify.slack_client(ctx))
    ctx.log.info("daily Slack user sync: %s", result.summary())
