"""What an admin sets when enabling the plugin (``PUT /api/integrations/example``)."""

from __future__ import annotations

from marshmallow import Schema, fields, validate


class ExampleConfig(Schema):
    api_url = fields.Url(
        required=True, schemes={"https"}, metadata={"description": "Where notes are mirrored."}
    )
    # secret: encrypted at rest, never returned by the API, read with ctx.secret(...)
    signing_secret = fields.String(
        required=True,
        validate=validate.Length(min=6, max=200),
        metadata={"secret": True, "description": "Signs calls to the public inbound route."},
    )
    label = fields.String(load_default="Notes", validate=validate.Length(min=1, max=40))
