"""Routes under ``/api/integrations/zapier/``: REST-hook subscriptions and sample data.

Zapier calls them with the organization's API key (``Authorization: Bearer ...``):
subscribing and unsubscribing need an admin key, like registering a webhook; samples
take any key of the organization.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import marshmallow
from flask import Blueprint, Response, current_app, jsonify
from marshmallow import fields, validate

from hub import NotFound, admin_route, api_route, current_context
from mycelium_zapier import delivery_log, samples, subscriptions

bp = Blueprint("zapier", __name__)
MAX_SAMPLES = 100
DEFAULT_SAMPLES = 10


class SubscribeSchema(marshmallow.Schema):
    target_url = fields.String(required=True, validate=validate.Length(min=1, max=2048))
    event = fields.String(required=True, validate=validate.Length(min=1, max=100))
    zap_id = fields.String(validate=validate.Length(max=100), allow_none=True)
    # the legacy REST-hook body repeats the target here; accepted and ignored
    subscription_url = fields.String(load_only=True)


class SamplesQuerySchema(marshmallow.Schema):
    limit = fields.Integer(
        load_default=DEFAULT_SAMPLES, validate=validate.Range(min=1, max=MAX_SAMPLES)
    )


class HookSchema(marshmallow.Schema):
    id = fields.Integer()
    event = fields.String()
    target_url = fields.String()
    zap_id = fields.String(allow_none=True)
    status = fields.String(metadata={"enum": ["enabled", "disabled"]})
    disabled_reason = fields.String(allow_none=True)
    failing_since = fields.DateTime(allow_none=True)
    last_success_at = fields.DateTime(allow_none=True)
    created_at = fields.DateTime()


class NewHookSchema(HookSchema):
    secret = fields.String(metadata={"description": "whsec_...: signs this hook's deliveries."})


class ZapierAttemptSchema(marshmallow.Schema):
    attempt = fields.Integer()
    attempted_at = fields.DateTime()
    status_code = fields.Integer(allow_none=True)
    duration_ms = fields.Integer()
    response_body = fields.String(allow_none=True)
    error = fields.String(allow_none=True)


class ZapierDeliverySchema(marshmallow.Schema):
    id = fields.Integer()
    hook_id = fields.Integer()
    event_id = fields.String()
    event_type = fields.String()
    state = fields.String(metadata={"enum": ["pending", "succeeded", "failed"]})
    attempts = fields.Integer()
    next_attempt_at = fields.DateTime(allow_none=True)
    last_status = fields.Integer(allow_none=True)
    last_error = fields.String(allow_none=True)
    created_at = fields.DateTime()
    finished_at = fields.DateTime(allow_none=True)
    attempt_log = fields.List(fields.Nested(ZapierAttemptSchema))


# Zapier's performList wants a bare array of flat objects, newest first.
SAMPLES = {
    "type": "array",
    "items": {"type": "object", "description": "An event flattened as Zapier shows it."},
}


def _catalogue() -> Mapping[str, str]:
    """Every event type the hub knows (what GET /api/events/types lists)."""
    catalogue: Mapping[str, str] = current_app.extensions["hub.event_types"]
    return catalogue


@bp.post("/hooks")
@admin_route
@api_route(body=SubscribeSchema, response=NewHookSchema, status=201)
def subscribe(body: dict[str, Any]) -> Any:
    """Subscribe a Zapier target URL to an event type (REST hook); 201 with its id and secret."""
    created = subscriptions.subscribe(current_context(), body, _catalogue())
    return jsonify(created), 201


@bp.get("/hooks")
@admin_route
@api_route(response=HookSchema, many=True)
def list_hooks() -> Any:
    """The organization's Zapier subscriptions."""
    return jsonify({"items": subscriptions.listing(current_context()), "next_cursor": None})


@bp.delete("/hooks/<int:hook_id>")
@admin_route
@api_route(status=204)
def unsubscribe(hook_id: int) -> Any:
    """Unsubscribe (what Zapier calls when a Zap is turned off); 204."""
    ctx = current_context()
    subscriptions.remove(ctx.db, subscriptions.owned(ctx, hook_id))
    ctx.db.commit()
    return Response(status=204)


@bp.get("/hooks/<int:hook_id>/deliveries")
@admin_route
@api_route(response=ZapierDeliverySchema, many=True)
def list_deliveries(hook_id: int) -> Any:
    """A subscription's newest 50 deliveries, newest first, each with its attempt log."""
    items = delivery_log.listing(current_context(), hook_id)
    return jsonify({"items": items, "next_cursor": None})


@bp.post("/deliveries/<int:delivery_id>/resend")
@admin_route
@api_route(response=ZapierDeliverySchema, status=202)
def resend_delivery(delivery_id: int) -> Any:
    """Send a finished (succeeded or failed) delivery once more, at once; 202."""
    return jsonify(delivery_log.resend(current_context(), delivery_id)), 202


@bp.get("/samples/<event>")
@api_route(query=SamplesQuerySchema, response=SAMPLES)
def list_samples(event: str, query: dict[str, Any]) -> Any:
    """Recent payloads of an event type, newest first (Zapier's performList and polling)."""
    if event not in _catalogue():
        raise NotFound(f"Unknown event type {event!r} (see GET /api/events/types).")
    ctx = current_context()
    return jsonify(samples.recent(ctx.db, ctx.org.id, event, query["limit"]))
