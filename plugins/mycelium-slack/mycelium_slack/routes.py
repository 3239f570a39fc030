"""Routes under ``/api/integrations/slack/``: the user mapping, slash commands, Events API."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl

import marshmallow
from flask import Blueprint, current_app, jsonify, request
from marshmallow import fields

from hub import (
    ValidationError,
    api_route,
    current_context,
    disable_integration,
    find_integration,
    public_route,
)
from mycelium_slack import slash, users
from mycelium_slack.signature import verify_request

bp = Blueprint("slack", __name__)
DEFAULT_BUDGET_SECONDS = 2.5
UNINSTALLED = "The Slack app was uninstalled from the workspace; reconnect Slack to use it again."
REVOKED = "Slack revoked the app's token; reconnect Slack to use it again."


def _verified_body() -> bytes:
    """The raw body, after its Slack signature checks out (401 otherwise)."""
    body = request.get_data(cache=True)
    verify_request(current_app.config.get("SLACK_SIGNING_SECRET"), request.headers, body)
    return body


def _budget() -> float:
    value = current_app.config.get("SLACK_COMMAND_BUDGET_SECONDS")
    return float(value) if value not in (None, "") else DEFAULT_BUDGET_SECONDS


class UserMappingSchema(marshmallow.Schema):
    user_id = fields.Integer()
    email = fields.String()
    name = fields.String()
    slack_user_id = fields.String(allow_none=True)
    slack_username = fields.String(allow_none=True)
    synced_at = fields.DateTime(allow_none=True)


# Slack reads these answers; it needs no more than an object.
SLACK_ANSWER = {"type": "object"}


@bp.get("/users")
@api_route(response=UserMappingSchema, many=True)
def user_mapping() -> Any:
    """Each hub user of the organization and the Slack account they map to, if any."""
    ctx = current_context()
    return jsonify({"items": users.mapping(ctx.db, ctx.org.id), "next_cursor": None})


@bp.post("/commands")
@public_route
@api_route(response=SLACK_ANSWER)
def slash_command() -> Any:
    """A slash command from Slack (form-encoded, signed); always an ephemeral 200 reply."""
    body = _verified_body()
    form = dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
    timeout = float(current_app.config.get("HUB_HTTP_TIMEOUT") or 10.0)
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    return jsonify(slash.respond(app, form, _budget(), timeout))


def _json(body: bytes) -> dict[str, Any]:
    try:
        payload = json.loads(body)
    except (ValueError, RecursionError):
        raise ValidationError("The body is not JSON.", {"_schema": ["Not valid JSON."]}) from None
    if not isinstance(payload, dict):
        raise ValidationError("Expected a JSON object.", {"_schema": ["Expected an object."]})
    return payload


def _revoked_bots(event: dict[str, Any]) -> list[str]:
    """The bot user ids a tokens_revoked event names: {"tokens": {"bot": [ids]}}."""
    tokens = event.get("tokens", {})
    bots = tokens.get("bot", []) if isinstance(tokens, dict) else None
    if not isinstance(bots, list) or not all(isinstance(b, str) for b in bots):
        message = 'Expected {"bot": [user ids], "oauth": [user ids]}.'
        raise ValidationError("The event's tokens are malformed.", {"event.tokens": [message]})
    return bots


def _bot_revoked(ctx: Any, event: dict[str, Any]) -> bool:
    revoked = _revoked_bots(event)
    ours = ctx.secret("oauth.bot_user_id")
    return bool(revoked) and (ours is None or ours in revoked)


def _disconnect_if_gone(payload: dict[str, Any]) -> None:
    found = payload.get("event")
    event: dict[str, Any] = found if isinstance(found, dict) else {}
    kind, team = event.get("type"), payload.get("team_id")
    if kind not in ("app_uninstalled", "tokens_revoked") or not isinstance(team, str):
        return
    if kind == "tokens_revoked":
        _revoked_bots(event)  # refused before anything is looked up or changed
    ctx = find_integration("slack", team)
    if ctx is None or (kind == "tokens_revoked" and not _bot_revoked(ctx, event)):
        return
    disable_integration(ctx, UNINSTALLED if kind == "app_uninstalled" else REVOKED)
    ctx.db.commit()


@bp.post("/events")
@public_route
@api_route(response=SLACK_ANSWER)
def slack_events() -> Any:
    """Slack's Events API: the URL check, and uninstalls that disconnect the organization."""
    payload = _json(_verified_body())
    if payload.get("type") == "url_verification":
        return jsonify({"challenge": str(payload.get("challenge") or "")})
    if payload.get("type") == "event_callback":
        _disconnect_if_gone(payload)
    return jsonify({"ok": True})
