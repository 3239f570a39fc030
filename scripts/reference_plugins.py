"""The reference's last two sections: the run record as the runs API renders it, and the
JSON of ``hub plugins --json`` (keys from ``describe``'s docstring, an example made by it)."""

from __future__ import annotations

import json
from typing import Any

import marshmallow
from flask import Blueprint
from marshmallow import fields
from reference_render import Undocumented, own_doc, sections, table

import hub
from hub.api.runs import RunSchema
from hub.plugin_info import describe
from hub.plugins import PluginInfo, Plugins

JSON_TYPES = {
    fields.Integer: "integer",
    fields.String: "string",
    fields.DateTime: "string (ISO 8601 time)",
    fields.Boolean: "boolean",
}


def _json_type(field: fields.Field[Any]) -> str:
    found = next((t for cls, t in JSON_TYPES.items() if isinstance(field, cls)), "object")
    return f"{found} or null" if field.allow_none else found


def runs_section() -> str:
    """Each field of a run: its JSON type and what it means."""
    rows = []
    for name, field in RunSchema().fields.items():
        meaning = field.metadata.get("description")
        if not meaning:
            raise Undocumented(f"RunSchema.{name} has no description")
        rows.append((f"`{name}`", _json_type(field), meaning))
    return "\n\n".join(
        [
            "## The run record",
            f"{own_doc(RunSchema)} `GET /api/integrations/runs` lists an organization's runs, "
            "newest first (filters `plugin`, `state`, `event_type`, `since`); an admin's "
            "`POST /api/integrations/runs/<id>/retry` runs a failed or queued one again now, "
            "with a fresh attempt count. Each run is:",
            table(("field", "JSON type", "meaning"), rows),
        ]
    )


class ExampleConfig(marshmallow.Schema):
    calendar_id = fields.String(load_default="primary", metadata={"description": "Which one."})


class ExamplePlugin:
    """The plugin whose description the section shows (a made-up Google Calendar)."""

    @hub.hookimpl
    def register_providers(self, register: hub.RegisterProvider) -> None:
        oauth = hub.OAuth2(
            authorize_url_setting="GCAL_AUTHORIZE_URL",
            token_url_setting="GCAL_TOKEN_URL",
            client_id_setting="GCAL_CLIENT_ID",
            client_secret_setting="GCAL_CLIENT_SECRET",
            revoke_url_setting="GCAL_REVOKE_URL",
            scopes=("https://www.googleapis.com/auth/calendar.events",),
            extra_authorize_params={"access_type": "offline", "prompt": "consent"},
        )
        settings = (
            hub.Setting("GCAL_AUTHORIZE_URL", "https://accounts.google.com/o/oauth2/v2/auth"),
            hub.Setting("GCAL_TOKEN_URL", "https://oauth2.googleapis.com/token"),
            hub.Setting("GCAL_REVOKE_URL", "https://oauth2.googleapis.com/revoke"),
            hub.Setting("GCAL_CLIENT_ID", None, "Client id of the hub's Google app."),
            hub.Setting("GCAL_CLIENT_SECRET", None, "Its client secret.", secret=True),
        )
        register(
            hub.Provider(
                name="gcal",
                title="Google Calendar",
                description="Deadlines as calendar events.",
                version="0.1.0",
                config_schema=ExampleConfig,
                auth="oauth2",
                oauth2=oauth,
                events=("deliverable.created", "deliverable.updated"),
                event_types={"gcal.synced": "A deliverable's event was written."},
                rate_limits=hub.RateLimits(per_second=10),
                settings=settings,
            )
        )

    @hub.hookimpl
    def register_routes(self, register: hub.RegisterRoute) -> None:
        register(Blueprint("gcal", __name__))

    @hub.hookimpl
    def on_deliverable_created(self, ctx: hub.PluginContext) -> None:
        """Not called here."""


def plugins_section() -> str:
    """The keys `describe` documents, checked against what it returns, and an example."""
    plugins = Plugins(load=())
    plugins.add(ExamplePlugin(), "gcal", PluginInfo("gcal", "mycelium-gcal", "0.1.0", False))
    example = describe(plugins, "gcal")
    intro, found = sections(own_doc(describe), "Keys")
    keys = dict(found.get("Keys", []))
    if list(keys) != list(example):
        raise Undocumented(
            f"describe's docstring has keys {list(keys)}, it returns {list(example)}"
        )
    rows = [(f"`{key}`", text) for key, text in keys.items()]
    return "\n\n".join(
        [
            "## `hub plugins --json`",
            f"{intro} The command prints a list of them, one per installed plugin, sorted by "
            "name; `GET /api/plugins` gives the same list under `items`.",
            table(("key", "meaning"), rows),
            "The object of a made-up Google Calendar plugin (`ExamplePlugin` in "
            "`scripts/reference_plugins.py`), as the command's own code describes it:",
            f"```json\n{json.dumps(example, indent=2)}\n```",
        ]
    )
