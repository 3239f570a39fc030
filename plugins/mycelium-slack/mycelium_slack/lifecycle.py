"""Connecting Slack, and the daily user sync of every connected organization."""

from __future__ import annotations

import logging

from hub import EventInfo, HubError, PluginContext
from mycelium_slack import alerts, hubdata, notify, users

log = logging.getLogger(__name__)
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
    notify.record(ctx, event.id, notify.deliver(ctx, message))


def sync_every_org() -> None:
    """The daily job: refresh every connected organization's user mapping."""
    for ctx in hubdata.enabled_contexts("slack"):
        if not connected(ctx):
            continue
        try:
            result = users.sync_all(ctx.db, ctx.org.id, notify.slack_client(ctx))
            ctx.db.commit()
            ctx.log.info("daily Slack user sync: %s", result.summary())
        except HubError as exc:
            ctx.db.rollback()
            ctx.log.warning("daily Slack user sync failed: %s", exc.message)
