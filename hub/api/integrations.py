"""This organization's integrations: list, enable with config, change, disable, test."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app
from marshmallow import INCLUDE, Schema, fields

from hub.api.auth import caller
from hub.api.routing import endpoint
from hub.core.connections import health, integrations
from hub.core.connections.checks import run_checks
from hub.core.connections.integration_rows import NOT_CONNECTED
from hub.core.models import Integration
from hub.core.people import render_user
from hub.errors import Conflict
from hub.extensions import db
from hub.plugins import Plugins, get_plugins

bp = Blueprint("integrations", __name__)


class ConfigSchema(Schema):
    """The plugin's flat config object; its own schema validates it."""

    class Meta:
        unknown = INCLUDE


class IntegrationSchema(Schema):
    plugin = fields.String()
    title = fields.String()
    always_on = fields.Boolean()
    enabled = fields.Boolean()
    status = fields.String(
        metadata={
            "enum": ["enabled", "disabled", "needs_reauth", "not_connected"],
            "description": "not_connected: an OAuth plugin set up but not connected yet; "
            "it is not enabled (no work is done for it) until its connect flow completes.",
        }
    )
    config = fields.Dict(
        metadata={"description": 'Plain fields as set; secret fields as {"set": true|false}.'}
    )
    connected = fields.Boolean()
    external_account_id = fields.String(allow_none=True)
    connected_at = fields.DateTime(allow_none=True)
    last_error = fields.String(allow_none=True)
    last_error_at = fields.DateTime(allow_none=True)
    last_success_at = fields.DateTime(allow_none=True)
    consecutive_errors = fields.Integer()
    disabled_reason = fields.String(allow_none=True)
    health = fields.Dict(allow_none=True)


class CheckSchema(Schema):
    health = fields.Dict()
    test_message = fields.Dict(allow_none=True)


def _plugins() -> Plugins:
    return get_plugins(current_app)


def _check_config(name: str, body: dict[str, Any], partial: bool) -> None:
    """The plugin's ``check_config`` (a network test, say), run with no transaction open:
    the candidate config is read, the read transaction ends, then the plugin tests it."""
    plugins = _plugins()
    if not plugins.implements(name, "check_config"):
        return
    org_id, keyring = caller().org.id, current_app.extensions["hub.keyring"]
    config = integrations.candidate_config(
        db.session, plugins.providers, keyring, org_id, name, body, partial
    )
    db.session.commit()
    plugins.check_config(name, config, current_app.config)


def _newest_checks(integration_ids: list[int]) -> dict[int, dict[str, Any] | None]:
    newest = health.latest(db.session, integration_ids)
    return {integration_id: health.render(newest.get(integration_id)) for integration_id in newest}


def _render(name: str, row: Integration | None) -> dict[str, Any]:
    checks = _newest_checks([row.id]) if row is not None else {}
    provider = integrations.require_provider(_plugins().providers, name)
    return integrations.render(provider, row, checks.get(row.id) if row else None)


@bp.get("/integrations")
@endpoint(
    "This organization's integration of every installed plugin",
    response=IntegrationSchema,
    many=True,
)
def list_integrations() -> dict[str, Any]:
    items = integrations.list_for_org(
        db.session, _plugins().providers, caller().org.id, _newest_checks
    )
    return {"items": items, "next_cursor": None}


@bp.get("/integrations/<plugin:name>")
@endpoint("One plugin's integration for this organization", response=IntegrationSchema)
def get_integration(name: str) -> dict[str, Any]:
    integrations.require_provider(_plugins().providers, name)
    return _render(name, integrations.find(db.session, caller().org.id, name))


@bp.put("/integrations/<plugin:name>")
@endpoint(
    "Enable a plugin with its whole config (secret fields may be omitted once set)",
    body=ConfigSchema,
    response=IntegrationSchema,
    role="admin",
)
def put_integration(name: str, body: dict[str, Any]) -> dict[str, Any]:
    keyring = current_app.extensions["hub.keyring"]
    _check_config(name, body, partial=False)
    row = integrations.enable(
        db.session, _plugins().providers, keyring, caller().org.id, name, body
    )
    db.session.commit()
    return _render(name, row)


@bp.patch("/integrations/<plugin:name>")
@endpoint(
    "Change some config fields (secret fields keep their value unless given)",
    body=ConfigSchema,
    response=IntegrationSchema,
    role="admin",
)
def patch_integration(name: str, body: dict[str, Any]) -> dict[str, Any]:
    keyring = current_app.extensions["hub.keyring"]
    _check_config(name, body, partial=True)
    row = integrations.change(
        db.session, _plugins().providers, keyring, caller().org.id, name, body
    )
    db.session.commit()
    return _render(name, row)


@bp.delete("/integrations/<plugin:name>")
@endpoint("Disable a plugin for this organization", response=IntegrationSchema, role="admin")
def delete_integration(name: str) -> dict[str, Any]:
    row = integrations.disable(db.session, _plugins().providers, caller().org.id, name)
    db.session.commit()
    return _render(name, row)


def _enabled_row(name: str) -> Integration:
    provider = integrations.require_provider(_plugins().providers, name)
    org_id = caller().org.id
    if provider.always_on:
        return integrations.always_on_integration(db.session, org_id, name)
    row = integrations.find(db.session, org_id, name)
    if row is not None and row.status == NOT_CONNECTED:
        raise Conflict(f"{provider.title} is not connected yet; connect it first.")
    if row is None or not row.enabled:
        raise Conflict(f"{provider.title} is not enabled for this organization; enable it first.")
    return row


@bp.post("/integrations/<plugin:name>/test")
@endpoint(
    "Run the plugin's health check now, then send its test message to the calling key's user",
    response=CheckSchema,
    role="admin",
)
def test_integration(name: str) -> dict[str, Any]:
    row = _enabled_row(name)
    user = caller().user
    report = run_checks(current_app, db.session, row, render_user(user) if user else None)
    db.session.commit()
    return report
