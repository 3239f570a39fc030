"""Request and response shapes of the plugin's routes."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import marshmallow
from marshmallow import Schema, fields, validate

from hub import StrictBoolean
from mycelium_smtp.models import PRIORITIES, REASONS, STATUSES

MAX_RECIPIENTS = 50


def _addresses(**kwargs: Any) -> fields.List:
    """A list of addresses; each is parsed when queued (errors name `to.0`, `cc.1`, ...)."""
    return fields.List(fields.String(validate=validate.Length(max=320)), **kwargs)


def _in_utc_range(when: datetime) -> None:
    """A time whose offset pushes it past year 9999 (or before 1) in UTC cannot be kept."""
    try:
        when.astimezone(UTC)
    except OverflowError:
        message = "Must fall between the years 1 and 9999 in UTC."
        raise marshmallow.ValidationError(message) from None


class Strict(Schema):
    class Meta:
        unknown = marshmallow.RAISE


class EmailInSchema(Strict):
    template = fields.String(required=True, validate=validate.Length(min=1, max=40))
    variables = fields.Dict(keys=fields.String(), load_default=dict)
    to = _addresses(required=True, validate=validate.Length(min=1, max=MAX_RECIPIENTS))
    cc = _addresses(load_default=list, validate=validate.Length(max=MAX_RECIPIENTS))
    bcc = _addresses(load_default=list, validate=validate.Length(max=MAX_RECIPIENTS))
    priority = fields.String(load_default="normal", validate=validate.OneOf(PRIORITIES))
    scheduled_for = fields.AwareDateTime(
        load_default=None, allow_none=True, validate=lambda when: _in_utc_range(when)
    )
    max_retries = fields.Integer(
        strict=True, load_default=None, allow_none=True, validate=validate.Range(min=0, max=10)
    )


class BatchInSchema(Strict):
    emails = fields.List(
        fields.Nested(EmailInSchema),
        required=True,
        validate=validate.Length(min=1, max=1000),
        metadata={"description": "Up to 1,000 emails, each as POST /emails takes one."},
    )


class EmailQuerySchema(Strict):
    status = fields.String(validate=validate.OneOf(STATUSES))
    template = fields.String(validate=validate.Length(max=40))
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))
    cursor = fields.Integer(validate=validate.Range(min=1, max=2**31 - 1))


class SuppressionQuerySchema(Strict):
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))
    cursor = fields.Integer(validate=validate.Range(min=1, max=2**31 - 1))


class SuppressionSchema(Schema):
    id = fields.Integer()
    address = fields.String()
    type = fields.String(
        metadata={"description": "The email type unsubscribed from, or * for every type."}
    )
    reason = fields.String(metadata={"enum": list(REASONS)})
    detail = fields.String(
        allow_none=True, metadata={"description": "What the provider or server said."}
    )
    created_at = fields.DateTime()


class TemplateInSchema(Strict):
    subject = fields.String(required=True, validate=validate.Length(min=1, max=1000))
    html = fields.String(required=True, validate=validate.Length(min=1, max=100_000))
    text = fields.String(required=True, validate=validate.Length(min=1, max=100_000))


class PreviewInSchema(Strict):
    variables = fields.Dict(keys=fields.String(), load_default=dict)
    subject = fields.String(validate=validate.Length(min=1, max=1000))
    html = fields.String(validate=validate.Length(min=1, max=100_000))
    text = fields.String(validate=validate.Length(min=1, max=100_000))


class PreferencesInSchema(Strict):
    daily_digest = StrictBoolean()
    weekly_digest = StrictBoolean()
    monthly_report = StrictBoolean()
    notifications = StrictBoolean()


# ----- answers (what the OpenAPI document shows) -----


class VariableSchema(Schema):
    name = fields.String()
    description = fields.String()


class TemplateTypeSchema(Schema):
    type = fields.String()
    description = fields.String()
    transactional = fields.Boolean()
    variables = fields.List(fields.Nested(VariableSchema))
    common_variables = fields.List(fields.String())
    customized = fields.Boolean(metadata={"description": "Whether the org saved its own."})


class TemplateSchema(TemplateTypeSchema):
    subject = fields.String()
    html = fields.String()
    text = fields.String()


class RenderedSchema(Schema):
    subject = fields.String()
    html = fields.String()
    text = fields.String()


class EmailSchema(Schema):
    id = fields.Integer()
    template = fields.String()
    subject = fields.String(allow_none=True)
    to = fields.List(fields.String())
    cc = fields.List(fields.String())
    bcc = fields.List(fields.String())
    priority = fields.String(metadata={"enum": list(PRIORITIES)})
    status = fields.String(metadata={"enum": list(STATUSES)})
    retries = fields.Integer()
    max_retries = fields.Integer()
    scheduled_for = fields.DateTime(allow_none=True)
    next_attempt_at = fields.DateTime(allow_none=True)
    message_id = fields.String(allow_none=True)
    refused = fields.Dict(metadata={"description": "Refused recipients: address -> reason."})
    error = fields.String(allow_none=True)
    delivery = fields.String(
        allow_none=True,
        metadata={
            "description": "What the provider reported last: delivered, bounced, "
            "complained or opened."
        },
    )
    delivery_events = fields.List(
        fields.Dict(),
        metadata={"description": "The provider's reports: type, address, at, detail."},
    )
    created_at = fields.DateTime()
    sent_at = fields.DateTime(allow_none=True)
    failed_at = fields.DateTime(allow_none=True)


class BatchSchema(Schema):
    items = fields.List(fields.Nested(EmailSchema), metadata={"description": "In order."})


class PreferencesSchema(Schema):
    user_id = fields.Integer()
    daily_digest = fields.Boolean()
    weekly_digest = fields.Boolean()
    monthly_report = fields.Boolean()
    notifications = fields.Boolean()


def render_email(row: Any) -> dict[str, Any]:
    """An email row as the API shows it (no bodies: they can be large)."""

    def iso(value: Any) -> str | None:
        return value.isoformat() if value is not None else None

    return {
        "id": row.id,
        "template": row.template,
        "subject": row.subject,
        "to": list(row.to),
        "cc": list(row.cc),
        "bcc": list(row.bcc),
        "priority": row.priority,
        "status": row.status,
        "retries": row.retries,
        "max_retries": row.max_retries,
        "scheduled_for": iso(row.scheduled_for),
        "next_attempt_at": iso(row.next_attempt_at) if row.status == "pending" else None,
        "message_id": row.message_id,
        "refused": dict(row.refused or {}),
        "error": row.last_error,
        "delivery": row.delivery,
        "delivery_events": list(row.delivery_events or []),
        "created_at": iso(row.created_at),
        "sent_at": iso(row.sent_at),
        "failed_at": iso(row.failed_at),
    }
