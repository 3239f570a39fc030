"""Posting to an organization's Slack: which channel, which way, once per event."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from hub import EventInfo, HealthResult, PermanentError, PluginContext, now
from mycelium_slack import alerts, users
from mycelium_slack.blocks import Message
from mycelium_slack.client import SlackClient, post_webhook
from mycelium_slack.messages import Frame
from mycelium_slack.models import SlackMessage
from mycelium_slack.provider import DEFAULT_API_BASE, MESSAGE, config_of

WEBHOOK_URL = "oauth.incoming_webhook_url"
WEBHOOK_CHANNEL = "oauth.incoming_webhook_channel"


def timeout(ctx: PluginContext) -> float:
    return float(ctx.setting("HUB_HTTP_TIMEOUT") or 10.0)


def slack_client(ctx: PluginContext) -> SlackClient:
    """The Web API with this integration's bot token (refreshed by the hub when it rotates)."""
    base = ctx.setting("SLACK_API_BASE") or DEFAULT_API_BASE
    return SlackClient(ctx.http, base, ctx.access_token(), timeout(ctx))


def frame_for(ctx: PluginContext) -> Frame:
    """Branding, links and mentions for this organization's messages."""
    client_url = str(ctx.setting("HUB_CLIENT_URL") or ctx.setting("HUB_APP_URL") or "")
    return Frame(
        company=ctx.org.display_name,
        logo_url=ctx.org.logo_url,
        timezone=ctx.org.timezone,
        client_url=client_url,
        now=now(),
        mention=lambda who: users.mention_for(ctx.db, ctx.org.id, who),
    )


def channel_for(ctx: PluginContext, event_type: str | None) -> str | None:
    """The event type's own channel, else the default channel; None: the incoming webhook."""
    config = config_of(ctx.config)
    channel = config["channels"].get(event_type or "") or config["default_channel"]
    return str(channel) if channel else None


def channel_label(ctx: PluginContext, event_type: str | None = None) -> str:
    """The channel a message goes to, as an admin would name it."""
    return channel_for(ctx, event_type) or ctx.secret(WEBHOOK_CHANNEL) or "the installed channel"


def deliver(
    ctx: PluginContext, message: Message, event_type: str | None = None, feature: str = MESSAGE
) -> dict[str, Any]:
    """Post ``message``: ``chat.postMessage`` when a channel is configured, else the webhook.

    The post is recorded as usage of `feature`: a ``message`` is the unit of work ROI counts.
    """
    channel = channel_for(ctx, event_type)
    if channel:
        client = slack_client(ctx)  # a token refresh is not the message
        with ctx.calls_for(feature):
            answer = client.post_message(channel, message.payload())
        return {"channel": answer.get("channel") or channel, "ts": answer.get("ts")}
    url = ctx.secret(WEBHOOK_URL)
    if not url:
        raise PermanentError(
            "No Slack channel is configured and Slack gave no incoming webhook: "
            "set default_channel or reconnect Slack."
        )
    with ctx.calls_for(feature):
        post_webhook(ctx.http, url, message.payload(), ctx.secret(WEBHOOK_CHANNEL), timeout(ctx))
    return {"channel": ctx.secret(WEBHOOK_CHANNEL) or "incoming-webhook", "ts": None}


def already_posted(ctx: PluginContext, event_id: str) -> bool:
    stmt = select(SlackMessage.id).where(
        SlackMessage.org_id == ctx.org.id, SlackMessage.event_id == event_id
    )
    return ctx.db.scalar(stmt) is not None


def wants(ctx: PluginContext, event_type: str) -> bool:
    return event_type in config_of(ctx.config)["notify_events"]


def notify(ctx: PluginContext, event: EventInfo, resource: dict[str, Any]) -> bool:
    """Post the event's message if the org wants it and it was not posted yet (runs may repeat)."""
    if not wants(ctx, event.type) or already_posted(ctx, event.id):
        return False
    # who acted (the event's actor) is part of what a message may say
    about = {**resource, "actor": event.data.get("actor")}
    message = alerts.for_event(event.type, about, frame_for(ctx))
    sent = deliver(ctx, message, event.type)
    record(ctx, event.id, sent)
    return True


def record(ctx: PluginContext, event_id: str, sent: dict[str, Any]) -> None:
    """Remember that ``event_id`` was posted, so a repeated run does not post it again."""
    ctx.db.add(SlackMessage(org_id=ctx.org.id, event_id=event_id, **sent))
    ctx.db.flush()


def send_test(ctx: PluginContext, user: dict[str, Any] | None) -> str:
    """The test message; what was sent, for the admin."""
    label = channel_label(ctx)
    deliver(ctx, alerts.test_message(frame_for(ctx), label, user), feature="test")
    return f"A test message was posted to {label} in Slack."


def health(ctx: PluginContext) -> HealthResult:
    """``auth.test``: the token works and names the workspace it belongs to."""
    answer = slack_client(ctx).auth_test()
    team = answer.get("team") or answer.get("team_id") or "the workspace"
    if ctx.integration.external_account_id and answer.get("team_id") not in (
        None,
        ctx.integration.external_account_id,
    ):
        return HealthResult(False, f"The token belongs to another workspace ({team}).")
    return HealthResult(True, f"Connected to {team}.", {"team_id": answer.get("team_id")})
