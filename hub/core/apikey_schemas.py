"""How API keys are asked for and shown: never their secret, except once when made."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from hub.core.apikeys import effective_role
from hub.core.schemas import ROLES, Id, PersonSchema, StrictSchema, Text


class ApiKeyInSchema(StrictSchema):
    name = Text(200, load_default="")
    role = fields.String(load_default="member", validate=validate.OneOf(ROLES))
    user_id = Id(
        allow_none=True,
        metadata={"description": "The key's user (default: the calling key's); null for none."},
    )


class ApiKeySchema(Schema):
    id = fields.Integer()
    name = fields.String()
    prefix = fields.String(metadata={"description": "Shown in logs and `hub apikey list`."})
    role = fields.String(metadata={"description": "The role the key was made with."})
    effective_role = fields.Function(
        effective_role,
        metadata={"type": "string", "description": "What it acts as: at most its user's role."},
    )
    user = fields.Nested(PersonSchema, allow_none=True)
    created_at = fields.DateTime()
    last_used_at = fields.DateTime(allow_none=True)
    revoked_at = fields.DateTime(allow_none=True)


class NewApiKeySchema(ApiKeySchema):
    key = fields.String(metadata={"description": "The secret: shown this once, never again."})
