"""Installed plugins and what each declares (the hub's `/-/plugins`)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app
from marshmallow import Schema, fields

from hub.api.routing import endpoint
from hub.plugin_info import describe_all
from hub.plugins import get_plugins

bp = Blueprint("plugins", __name__)


class PluginSchema(Schema):
    name = fields.String()
    title = fields.String()
    description = fields.String()
    version = fields.String()
    distribution = fields.String(allow_none=True)
    distribution_version = fields.String(allow_none=True)
    builtin = fields.Boolean()
    always_on = fields.Boolean()
    hooks = fields.List(fields.String())
    auth = fields.Dict(metadata={"description": "kind: none, credentials or oauth2; scopes..."})
    events = fields.List(fields.String())
    event_types = fields.Dict()
    config = fields.List(
        fields.Dict(), metadata={"description": "name, type, required, secret, description"}
    )
    rate_limits = fields.Dict(allow_none=True)
    settings = fields.List(fields.Dict())


@bp.get("/plugins")
@endpoint("Installed plugins: metadata, hooks, config fields", response=PluginSchema, many=True)
def list_plugins() -> dict[str, Any]:
    return {"items": describe_all(get_plugins(current_app)), "next_cursor": None}
