"""Installed plugins and what each declares (the hub's `/-/plugins`)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app
from marshmallow import Schema, fields
from werkzeug.exceptions import HTTPException

from hub.api.routing import endpoint
from hub.plugin_info import config_fields, describe_all
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
    sandbox = fields.String(
        allow_none=True,
        metadata={
            "description": "While `hub up --sandbox` runs: the URL of the page of the plugin's "
            "provider emulator (on loopback), else null."
        },
    )
    console_pages = fields.List(
        fields.Dict(),
        metadata={
            "description": "Admin console pages: name, title, description, source (a GET "
            "path), columns [{field, label}], form {method, path, title, fields} or null, "
            "item (a GET path filling the form) or null, preview {method, path} or null, "
            "key (the item field a <key> in those paths stands for) or null."
        },
    )


@bp.get("/plugins")
@endpoint("Installed plugins: metadata, hooks, config fields", response=PluginSchema, many=True)
def list_plugins() -> dict[str, Any]:
    items = describe_all(get_plugins(current_app))
    sandbox_pages = current_app.config["HUB_SANDBOX_PAGES"]
    for item in items:
        item["sandbox"] = sandbox_pages.get(item["name"])
        for page in item["console_pages"]:
            if page["form"] is not None:
                page["form"]["fields"] = _form_fields(page["form"]["method"], page["form"]["path"])
    return {"items": items, "next_cursor": None}


def _form_fields(method: str, path: str) -> list[dict[str, Any]]:
    """The body fields the route at `path` declares (``hub.api_route(body=...)``)."""
    adapter = current_app.url_map.bind("localhost")
    try:
        endpoint, _ = adapter.match(path, method=method)
    except HTTPException:
        return []
    doc = getattr(current_app.view_functions[endpoint], "endpoint_doc", None)
    return config_fields(doc.body if doc is not None else None)
