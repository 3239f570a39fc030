"""What the meeting routes accept (unknown fields refused) and what they answer."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from marshmallow import RAISE, Schema, ValidationError, fields, validate

import hub

MAX_ID = 2**31 - 1
MAX_ATTENDEES = 100


def _not_blank(value: str) -> None:
    if not value.strip():
        raise ValidationError("Must not be blank.")


def _no_nul(value: str) -> None:
    if "\x00" in value:
        raise ValidationError("Must not contain NUL characters.")


def _emails(values: list[str]) -> None:
    lowered = [v.lower() for v in values]
    if len(set(lowered)) != len(lowered):
        raise ValidationError("An address is listed twice.")


class MeetingIn(Schema):
    """A client meeting to schedule."""

    class Meta:
        unknown = RAISE

    deliverable_id = fields.Integer(
        strict=True, required=True, validate=validate.Range(min=1, max=MAX_ID)
    )
    title = fields.String(
        required=True, validate=[validate.Length(min=1, max=300), _not_blank, _no_nul]
    )
    description = fields.String(
        load_default=None, allow_none=True, validate=[validate.Length(max=8000), _no_nul]
    )
    start_at = fields.DateTime(
        required=True, metadata={"description": "Without an offset: the organization's zone."}
    )
    duration_minutes = fields.Integer(
        strict=True, required=True, validate=validate.Range(min=1, max=1440)
    )
    attendees = fields.List(
        fields.Email(validate=validate.Length(max=254)),
        load_default=list,
        validate=[validate.Length(max=MAX_ATTENDEES), _emails],
    )
    location = fields.String(
        load_default=None, allow_none=True, validate=[validate.Length(max=500), _no_nul]
    )
    meet_link = hub.StrictBoolean(load_default=False)


class MeetingChange(MeetingIn):
    """PATCH: any of the fields but the deliverable (loaded partially: only those sent)."""

    class Meta:
        unknown = RAISE
        exclude = ("deliverable_id",)


class MeetingQuery(Schema):
    """The listing's filters."""

    class Meta:
        unknown = RAISE

    deliverable_id = fields.Integer(validate=validate.Range(min=1, max=MAX_ID))
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))


class MeetingOut(Schema):
    """A meeting as the API shows it and ``meeting.*`` events carry it."""

    id = fields.Integer()
    deliverable_id = fields.Integer(allow_none=True)
    calendar_event_id = fields.String(metadata={"description": "The event's id in Google."})
    calendar_id = fields.String()
    html_link = fields.String(
        allow_none=True, metadata={"description": "The event in Google Calendar; null until made."}
    )
    meet_url = fields.String(allow_none=True, metadata={"description": "Null until ready."})
    meet_link = fields.Boolean(metadata={"description": "A Google Meet conference was asked."})
    meet_status = fields.String(allow_none=True, metadata={"description": "pending, success..."})
    title = fields.String()
    description = fields.String(allow_none=True)
    location = fields.String(allow_none=True)
    start_at = fields.DateTime()
    end_at = fields.DateTime()
    duration_minutes = fields.Integer()
    timezone = fields.String()
    attendees = fields.List(fields.String())
    status = fields.String(metadata={"description": "scheduling, scheduled, cancelled, failed"})
    pending = fields.Boolean(metadata={"description": "A change still has to reach Google."})
    last_error = fields.String(allow_none=True)
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


def in_zone(value: datetime, timezone: str, field: str = "start_at") -> datetime:
    """An aware UTC instant; a time without an offset is read in `timezone`, and one the
    clocks skip there (the hour lost when summer time starts) is refused."""
    from hub import ValidationError as HubValidationError

    if value.tzinfo is not None:
        return value.astimezone(UTC)
    zone = ZoneInfo(timezone)
    local = value.replace(tzinfo=zone)
    if local.astimezone(UTC).astimezone(zone).replace(tzinfo=None) != value:
        raise HubValidationError(
            "Some fields are invalid.",
            {field: [f"{value.isoformat()} does not exist in {timezone} (the clocks skip it)."]},
        )
    return local.astimezone(UTC)
