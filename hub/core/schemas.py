"""Marshmallow schemas: what the API accepts and how resources render (events carry the same)."""

from __future__ import annotations

import re
import zoneinfo
from datetime import datetime
from functools import lru_cache
from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, pre_load, validate

MAX_ID = 2**31 - 1
ROLES = ("admin", "member")
PRIORITIES = ("low", "normal", "high", "urgent")
STATUSES = ("todo", "in_progress", "review", "completed")


@lru_cache(maxsize=1)
def _zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def validate_timezone(value: str) -> None:
    if value not in _zones():
        raise ValidationError("Not a known IANA time zone, e.g. Europe/London.")


def _not_blank(value: str) -> None:
    if not value.strip():
        raise ValidationError("Must not be blank.")


# Any time zone shifts a time by less than a day, so these bounds never overflow in UTC.
EARLIEST = datetime(1900, 1, 1)
LATEST = datetime(9999, 12, 30)


def _reasonable_moment(value: datetime) -> None:
    if not EARLIEST <= value.replace(tzinfo=None) <= LATEST:
        raise ValidationError("Must be between the years 1900 and 9999.")


def Moment(**kwargs: Any) -> fields.DateTime:
    """ISO 8601; without an offset, the core reads it in the organization's time zone."""
    return fields.DateTime(validate=_reasonable_moment, **kwargs)


class StrictBoolean(fields.Boolean):
    """A JSON true or false, nothing else: not 0, 1, "yes" or "false"."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> bool:
        if not isinstance(value, bool):
            raise self.make_error("invalid", input=value)
        return value


def Id(**kwargs: Any) -> fields.Integer:
    return fields.Integer(strict=True, validate=validate.Range(min=1, max=MAX_ID), **kwargs)


def QueryId(**kwargs: Any) -> fields.Integer:
    """An id in a query string, where every value arrives as text."""
    return fields.Integer(validate=validate.Range(min=1, max=MAX_ID), **kwargs)


def Text(max_length: int, **kwargs: Any) -> fields.String:
    return fields.String(validate=validate.Length(max=max_length), **kwargs)


def Name(max_length: int = 200, **kwargs: Any) -> fields.String:
    return fields.String(validate=[validate.Length(min=1, max=max_length), _not_blank], **kwargs)


MAX_DEPTH = 32  # JSON nested deeper than this is refused before anything recurses into it


def _text_fault(value: str) -> str | None:
    if "\x00" in value:
        return "Must not contain NUL characters."
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "Must be valid Unicode text."
    return None


def unstorable(value: Any) -> str | None:
    """Why a JSON value cannot be stored (NUL characters or lone surrogates in any string or
    key, nesting past MAX_DEPTH); walked without recursion, so any depth is safe."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > MAX_DEPTH:
            return f"Must not be nested more than {MAX_DEPTH} levels deep."
        if isinstance(item, str) and (why := _text_fault(item)):
            return why
        if isinstance(item, dict):
            stack.extend((key, depth) for key in item)
            stack.extend((child, depth + 1) for child in item.values())
        elif isinstance(item, list):
            stack.extend((child, depth + 1) for child in item)
    return None


class StrictSchema(Schema):
    """Input schema: unknown fields are an error, and text must be storable on any database."""

    class Meta:
        unknown = RAISE

    @pre_load
    def reject_unstorable_text(self, data: Any, **kwargs: Any) -> Any:
        if isinstance(data, dict):
            errors = {k: [why] for k, v in data.items() if (why := unstorable(v))}
            if errors:
                raise ValidationError(errors)
        return data


# ----- input -----


class OrgUpdateSchema(StrictSchema):
    name = Name()
    timezone = fields.String(validate=validate_timezone)
    company_name = Text(200, allow_none=True)
    logo_url = fields.URL(
        schemes={"http", "https"}, allow_none=True, validate=validate.Length(max=2048)
    )
    primary_color = fields.String(
        allow_none=True,
        validate=validate.Regexp(re.compile(r"^#[0-9a-fA-F]{6}$"), error="Expected #RRGGBB."),
    )
    support_email = fields.Email(allow_none=True, validate=validate.Length(max=254))
    due_soon_hours = fields.Integer(strict=True, validate=validate.Range(min=1, max=24 * 30))


class UserInSchema(StrictSchema):
    email = fields.Email(required=True, validate=validate.Length(max=254))
    name = Name(required=True)
    role = fields.String(load_default="member", validate=validate.OneOf(ROLES))


class ServiceTypeInSchema(StrictSchema):
    name = Name(100, required=True)


class ClientInSchema(StrictSchema):
    name = Name(required=True)
    contact_person = Text(200, allow_none=True)
    contact_email = fields.Email(allow_none=True, validate=validate.Length(max=254))
    notes = Text(10000, allow_none=True)
    service_type_ids = fields.List(Id(), validate=validate.Length(max=50))


class DeliverableInSchema(StrictSchema):
    client_id = Id(required=True)
    service_type_id = Id(allow_none=True)
    title = Name(300, required=True)
    description = Text(10000, allow_none=True)
    assignee_id = Id(allow_none=True)
    due_at = Moment(allow_none=True)
    priority = fields.String(load_default="normal", validate=validate.OneOf(PRIORITIES))
    status = fields.String(load_default="todo", validate=validate.OneOf(STATUSES[:-1]))
    client_visible = StrictBoolean(load_default=False)


class DeliverableUpdateSchema(DeliverableInSchema):
    status = fields.String(validate=validate.OneOf(STATUSES[:-1]))


class ListQuerySchema(StrictSchema):
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))
    cursor = fields.String(validate=validate.Length(max=200))


class DeliverableQuerySchema(ListQuerySchema):
    client_id = QueryId()
    assignee_id = QueryId()
    status = fields.String(validate=validate.OneOf(STATUSES))
    due_before = Moment()
    due_after = Moment()


class EventQuerySchema(ListQuerySchema):
    type = fields.String(validate=validate.Length(min=1, max=100))


# ----- output -----


class OrgSchema(Schema):
    id = fields.Integer()
    slug = fields.String()
    name = fields.String()
    timezone = fields.String()
    company_name = fields.String(allow_none=True)
    logo_url = fields.String(allow_none=True)
    primary_color = fields.String(allow_none=True)
    support_email = fields.String(allow_none=True)
    due_soon_hours = fields.Integer()
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


class UserSchema(Schema):
    id = fields.Integer()
    email = fields.String()
    name = fields.String()
    role = fields.String()
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


class PersonSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    email = fields.String()


class ServiceTypeSchema(Schema):
    id = fields.Integer()
    name = fields.String()


class ClientSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    contact_person = fields.String(allow_none=True)
    contact_email = fields.String(allow_none=True)
    notes = fields.String(allow_none=True)
    service_types = fields.List(fields.Nested(ServiceTypeSchema))
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


class DeliverableSchema(Schema):
    id = fields.Integer()
    client_id = fields.Integer()
    client_name = fields.Function(lambda d: d.client.name, metadata={"type": "string"})
    service_type_id = fields.Integer(allow_none=True)
    service_type_name = fields.Function(
        lambda d: d.service_type.name if d.service_type else None,
        metadata={"type": "string", "nullable": True},
    )
    title = fields.String()
    description = fields.String(allow_none=True)
    assignee_id = fields.Integer(allow_none=True)
    assignee = fields.Nested(PersonSchema, allow_none=True)
    due_at = Moment(allow_none=True)
    priority = fields.String()
    status = fields.String()
    completed_at = fields.DateTime(allow_none=True)
    completed_by_id = fields.Integer(allow_none=True)
    completed_by = fields.Nested(PersonSchema, allow_none=True)
    client_visible = fields.Boolean()
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


class EventSchema(Schema):
    id = fields.String()
    type = fields.String()
    data = fields.Dict(attribute="payload")
    created_at = fields.DateTime()


class EventTypeSchema(Schema):
    type = fields.String()
    description = fields.String()


class OrgRefSchema(Schema):
    id = fields.Integer()
    slug = fields.String()
    name = fields.String()


class MeSchema(Schema):
    org = fields.Nested(OrgRefSchema)
    role = fields.String(validate=validate.OneOf(ROLES))
    user = fields.Nested(PersonSchema, allow_none=True)


class HealthChecksSchema(Schema):
    database = fields.String(metadata={"description": '"ok" or "error: <kind>"'})
    redis = fields.String(metadata={"description": '"ok" or "error: <kind>"'})


class HealthSchema(Schema):
    status = fields.String(validate=validate.OneOf(("ok", "degraded")))
    checks = fields.Nested(HealthChecksSchema)


class LiveSchema(Schema):
    status = fields.String(validate=validate.OneOf(("ok",)))


class ReadyChecksSchema(HealthChecksSchema):
    migrations = fields.String(
        metadata={
            "description": '"ok", "behind: <revisions> not applied ...", "ahead: <revisions> '
            'applied by newer code" (still ready), or "error: <kind>"'
        }
    )


class ReadySchema(Schema):
    status = fields.String(validate=validate.OneOf(("ok", "not_ready")))
    checks = fields.Nested(ReadyChecksSchema)
