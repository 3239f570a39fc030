"""Request and response shapes of the plugin's routes."""

from __future__ import annotations

from typing import Any

import marshmallow
from flask import request
from marshmallow import Schema, fields, validate

from hub import ValidationError
from mycelium_smtp.models import PRIORITIES, STATUSES

MAX_RECIPIENTS = 50


def _addresses(**kwargs: Any) -> fields.List:
    """A list of addresses; each is parsed when queued (errors name `to.0`, `cc.1`, ...)."""
    return fields.List(fields.String(validate=validate.Length(max=320)), **kwargs)


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
    scheduled_for = fields.AwareDateTime(load_default=None, allow_none=True)
    max_retries = fields.Integer(
        strict=True, load_default=None, allow_none=True, validate=validate.Range(min=0, max=10)
    )


class EmailQuerySchema(Strict):
    status = fields.String(validate=validate.OneOf(STATUSES))
    template = fields.String(validate=validate.Length(max=40))
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))
    cursor = fields.Integer(validate=validate.Range(min=1, max=2**31 - 1))


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
    daily_digest = fields.Boolean()
    weekly_digest = fields.Boolean()
    monthly_report = fields.Boolean()
    notifications = fields.Boolean()


def body(schema: Schema) -> dict[str, Any]:
    """The request's JSON object loaded by `schema`; a 400 naming each bad field."""
    data = request.get_json(silent=True) if request.get_data() else {}
    if not isinstance(data, dict):
        raise ValidationError("Send a JSON object.", {"_schema": ["Expected a JSON object."]})
    return load(schema, data)


def query(schema: Schema) -> dict[str, Any]:
    return load(schema, request.args.to_dict())


def load(schema: Schema, data: dict[str, Any]) -> dict[str, Any]:
    try:
        return schema.load(data)
    except marshmallow.ValidationError as exc:
        messages = exc.messages if isinstance(exc.messages, dict) else {"_schema": exc.messages}
        raise ValidationError("Some fields are invalid.", messages) from None


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
        "created_at": iso(row.created_at),
        "sent_at": iso(row.sent_at),
        "failed_at": iso(row.failed_at),
    }
