"""What the webhooks API accepts and how endpoints, deliveries and attempts render."""

from __future__ import annotations

import json
from typing import Any

from marshmallow import Schema, fields, validate

from hub.core.schemas import ListQuerySchema, Moment, StrictBoolean, StrictSchema, Text
from hub.core.webhooks.models import DELIVERY_STATES, WebhookDelivery

MAX_GRACE_SECONDS = 7 * 24 * 3600
EventName = fields.String(validate=validate.Length(min=1, max=100))


class EndpointInSchema(StrictSchema):
    url = fields.String(required=True, validate=validate.Length(min=1, max=2048))
    events = fields.List(EventName, required=True, validate=validate.Length(min=1, max=200))
    description = Text(500, allow_none=True)


class EndpointUpdateSchema(EndpointInSchema):
    enabled = StrictBoolean()


class RotateSchema(StrictSchema):
    grace_period_seconds = fields.Integer(
        strict=True,
        validate=validate.Range(min=0, max=MAX_GRACE_SECONDS),
        metadata={"description": "How long the old secret keeps signing; default 24 h."},
    )


class DeliveryQuerySchema(ListQuerySchema):
    state = fields.String(validate=validate.OneOf(DELIVERY_STATES))
    event_type = fields.String(validate=validate.Length(min=1, max=100))


class RecoverQuerySchema(StrictSchema):
    since = Moment(required=True, metadata={"description": "Failed deliveries created since."})
    until = Moment(metadata={"description": "...and before this time (default: now)."})


class EndpointSchema(Schema):
    id = fields.Integer()
    url = fields.String()
    description = fields.String()
    events = fields.List(fields.String(), metadata={"description": '["*"]: every event.'})
    enabled = fields.Boolean()
    disabled_reason = fields.String(allow_none=True)
    disabled_at = fields.DateTime(allow_none=True)
    failing_since = fields.DateTime(
        allow_none=True, metadata={"description": "First failure since the last success."}
    )
    last_success_at = fields.DateTime(
        allow_none=True, metadata={"description": "The last successful attempt, to the minute."}
    )
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


class NewEndpointSchema(EndpointSchema):
    secret = fields.String(metadata={"description": "whsec_...; shown only now."})


class SecretSchema(Schema):
    secret = fields.String(metadata={"description": "The new whsec_ secret; shown only now."})
    previous_secret_expires_at = fields.DateTime(allow_none=True)


class AttemptSchema(Schema):
    attempt = fields.Integer()
    trigger = fields.String(metadata={"description": "scheduled | manual"})
    attempted_at = fields.DateTime()
    status_code = fields.Integer(allow_none=True)
    duration_ms = fields.Integer()
    response_body = fields.String(allow_none=True, metadata={"description": "Truncated."})
    error = fields.String(allow_none=True)


class DeliverySchema(Schema):
    id = fields.Integer()
    endpoint_id = fields.Integer()
    event_id = fields.String(metadata={"description": "Also the webhook-id header."})
    event_type = fields.String()
    state = fields.String(metadata={"description": " | ".join(DELIVERY_STATES)})
    attempts = fields.Integer()
    next_attempt_at = fields.DateTime(allow_none=True)
    last_status = fields.Integer(allow_none=True)
    last_error = fields.String(allow_none=True)
    created_at = fields.DateTime()
    finished_at = fields.DateTime(allow_none=True)
    payload = fields.Method("_payload", metadata={"description": "The body as it was sent."})
    attempt_log = fields.List(fields.Nested(AttemptSchema), data_key="attempt_log")

    def _payload(self, delivery: WebhookDelivery) -> Any:
        return json.loads(delivery.body)


class RecoveredSchema(Schema):
    recovered = fields.Integer(metadata={"description": "Deliveries queued again (max 10000)."})
