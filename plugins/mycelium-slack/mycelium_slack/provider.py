"""What the Slack plugin declares to the hub: settings, OAuth v2, quotas, its config schema."""

from __future__ import annotations

import os
from importlib import metadata
from typing import Any

from marshmallow import RAISE, Schema, fields, validate

from hub import NeedsReauth, OAuth2, PermanentError, Provider, RateLimits, Setting, Token, Work

DEFAULT_API_BASE = "https://slack.com/api"
SCOPES = (
    "incoming-webhook",
    "chat:write",
    "chat:write.public",
    "channels:read",
    "users:read",
    "users:read.email",
    "commands",
)
NOTIFY_DEFAULTS = (
    "deliverable.due_soon",
    "deliverable.overdue",
    "deliverable.completed",
    "client.created",
    "integration.needs_reauth",
    "integration.disabled",
    "webhook.endpoint_disabled",
)
MESSAGE = "message"  # the unit of work: a notification posted (30 seconds saved, as seeded)
REFRESH_REFUSED = {"invalid_refresh_token", "invalid_grant", "token_revoked", "token_expired"}


def _api_url(method: str) -> str:
    """Default of a URL setting: a Web API method under ``SLACK_API_BASE`` from the environment."""
    return f"{os.environ.get('SLACK_API_BASE', DEFAULT_API_BASE).rstrip('/')}/{method}"


def answer_ok(response: Any) -> bool:
    """Slack's Web API reports errors with HTTP 200 and ``{"ok": false}``; an incoming
    webhook answers plain ``ok``."""
    if "json" not in response.headers.get("Content-Type", ""):
        return True
    body = response.json()
    return not isinstance(body, dict) or body.get("ok") is not False


SETTINGS = (
    Setting("SLACK_CLIENT_ID", None, "Client ID of the hub's Slack app."),
    Setting("SLACK_CLIENT_SECRET", None, "Client secret of the hub's Slack app.", secret=True),
    Setting(
        "SLACK_SIGNING_SECRET",
        None,
        "Signing secret of the hub's Slack app; slash commands and events are refused without it.",
        secret=True,
    ),
    Setting("SLACK_API_BASE", DEFAULT_API_BASE, "Base URL of Slack's Web API."),
    Setting(
        "SLACK_AUTHORIZE_URL",
        "https://slack.com/oauth/v2/authorize",
        "Slack's OAuth v2 authorize page.",
    ),
    Setting(
        "SLACK_TOKEN_URL",
        _api_url("oauth.v2.access"),
        "Slack's token endpoint; default `SLACK_API_BASE/oauth.v2.access`.",
    ),
    Setting(
        "SLACK_COMMAND_BUDGET_SECONDS",
        "2.5",
        "How long a slash command may work before its reply; slower answers follow through "
        "Slack's response_url (Slack gives up after 3 s). 0: always answer later.",
    ),
    Setting(
        "SLACK_RESPONSE_URL_HOSTS",
        "hooks.slack.com",
        "Comma-separated hosts a slash command's response_url may name; any other is not "
        "posted to. It goes through the hub's egress guard too.",
    ),
    Setting(
        "SLACK_REVOKE_URL",
        _api_url("auth.revoke"),
        "Where tokens are revoked on disconnect; default `SLACK_API_BASE/auth.revoke`.",
    ),
)

_CHANNEL = validate.Regexp(
    r"^#?[\w.\-]{1,80}$", error="Expected a channel name (#general) or id (C0123ABCD)."
)
_EVENT_TYPE = validate.Regexp(
    r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$", error="Expected an event type, e.g. client.created."
)


class SlackConfigSchema(Schema):
    """An organization's Slack settings."""

    class Meta:
        unknown = RAISE

    default_channel = fields.String(
        load_default=None,
        allow_none=True,
        validate=_CHANNEL,
        metadata={"description": "Post with chat.postMessage here; unset: the incoming webhook."},
    )
    channels = fields.Dict(
        keys=fields.String(validate=_EVENT_TYPE),
        values=fields.String(validate=_CHANNEL),
        load_default=dict,
        validate=validate.Length(max=50),
        metadata={"description": "A channel per event type, over the default channel."},
    )
    notify_events = fields.List(
        fields.String(validate=_EVENT_TYPE),
        load_default=lambda: list(NOTIFY_DEFAULTS),
        validate=validate.Length(max=100),
        metadata={"description": "Event types that post a message."},
    )


def config_of(stored: dict[str, Any]) -> dict[str, Any]:
    """The stored config with defaults filled in (it was validated when it was saved)."""
    loaded: dict[str, Any] = SlackConfigSchema().load(stored or {})
    return loaded


def _nested(data: dict[str, Any], key: str) -> dict[str, Any]:
    value = data.get(key)
    return value if isinstance(value, dict) else {}


def token_extra(data: dict[str, Any]) -> dict[str, Any]:
    """What Slack tells about the installation, kept (encrypted) beside the token."""
    team, user, hook = (
        _nested(data, "team"),
        _nested(data, "authed_user"),
        _nested(data, "incoming_webhook"),
    )
    found = {
        "team_id": team.get("id"),
        "team_name": team.get("name"),
        "bot_user_id": data.get("bot_user_id"),
        "app_id": data.get("app_id"),
        "authed_user_id": user.get("id"),
        "enterprise_id": _nested(data, "enterprise").get("id"),
        "incoming_webhook_url": hook.get("url"),
        "incoming_webhook_channel": hook.get("channel"),
        "incoming_webhook_channel_id": hook.get("channel_id"),
        "incoming_webhook_configuration_url": hook.get("configuration_url"),
    }
    return {key: value for key, value in found.items() if value}


def parse_token_response(data: dict[str, Any]) -> Token:
    """``oauth.v2.access`` (code or refresh grant): a Token, or the error Slack reported."""
    if not data.get("ok"):
        error = str(data.get("error") or "unknown_error")
        if error in REFRESH_REFUSED:
            raise NeedsReauth(f"Slack refused the refresh token ({error}); reconnect Slack.")
        raise PermanentError(f"Slack refused the token request: {error}.", {"error": error})
    access = data.get("access_token")
    if not isinstance(access, str) or not access:
        raise PermanentError("Slack's token response has no bot access token.")
    extra = token_extra(data)
    expires_in = data.get("expires_in")
    return Token(
        access_token=access,
        refresh_token=data.get("refresh_token") or None,  # only with token rotation on
        scope=data.get("scope"),
        token_type=str(data.get("token_type") or "bot"),
        external_account_id=extra.get("team_id"),
        extra=extra,
        expires_in=int(expires_in) if isinstance(expires_in, int) and expires_in > 0 else None,
    )


def _version() -> str:
    try:
        return metadata.version("mycelium-slack")
    except metadata.PackageNotFoundError:  # pragma: no cover - running from a source tree
        return "0"


PROVIDER = Provider(
    name="slack",
    title="Slack",
    description="Deliverable and client notifications in Slack, user mentions, slash commands.",
    version=_version(),
    config_schema=SlackConfigSchema,
    auth="oauth2",
    oauth2=OAuth2(
        authorize_url_setting="SLACK_AUTHORIZE_URL",
        token_url_setting="SLACK_TOKEN_URL",
        client_id_setting="SLACK_CLIENT_ID",
        client_secret_setting="SLACK_CLIENT_SECRET",
        revoke_url_setting="SLACK_REVOKE_URL",
        revoke_style="bearer",
        scopes=SCOPES,
        scope_separator=",",
        # Slack's PKCE turns the app into a public client for good; ours keeps its secret.
        pkce=False,
        parse_token_response=parse_token_response,
    ),
    events=NOTIFY_DEFAULTS,
    rate_limits=RateLimits(per_second=20, per_minute=100, per_hour=4000, per_day=50000),
    settings=SETTINGS,
    work=(Work(MESSAGE, 0.5, "A notification posted to a channel."),),
    answer_ok=answer_ok,
)
