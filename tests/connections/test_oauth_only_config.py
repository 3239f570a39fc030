"""What config schema an OAuth-only plugin needs, as docs/writing_plugins.md says: none, or
only fields with defaults, since connecting enables the integration with an empty config
without running the schema."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from marshmallow import Schema, fields
from support import oauth_plugin
from support.oauth_plugin import NAME, PROVIDER, OAuthTestPlugin, connect, install, oauth_config
from support.oauth_server import OAuthServer

oauth_server = oauth_plugin.oauth_server


@pytest.fixture
def hub_config(hub_config: dict[str, Any], oauth_server: OAuthServer) -> dict[str, Any]:
    return oauth_config(hub_config, oauth_server)


class WithDefault(Schema):
    channel = fields.String(load_default="general")


class WithRequired(Schema):
    channel = fields.String(required=True)
    label = fields.String(load_default="Calendar")


def test_without_a_schema_it_connects_and_takes_no_config(
    app: Any, api: Any, client: Any, plugin_context: Any
) -> None:
    install(app, OAuthTestPlugin(PROVIDER))  # config_schema=None
    assert connect(api, client) == {"success": NAME}
    assert plugin_context(NAME).config == {}
    refused = api.put(f"/api/integrations/{NAME}", json={"channel": "x"})
    assert refused.status_code == 400 and list(refused.json["error"]["details"]) == ["channel"]
    assert api.put(f"/api/integrations/{NAME}", json={}).status_code == 200


def test_connecting_stores_no_defaults_so_hooks_read_them_through_the_schema(
    app: Any, api: Any, client: Any, plugin_context: Any
) -> None:
    install(app, OAuthTestPlugin(replace(PROVIDER, config_schema=WithDefault)))
    assert connect(api, client) == {"success": NAME}
    config = plugin_context(NAME).config
    assert config == {}  # the schema did not run
    assert WithDefault().load(config) == {"channel": "general"}
    changed = api.patch(f"/api/integrations/{NAME}", json={"channel": "ops"})
    assert changed.status_code == 200, changed.json
    assert plugin_context(NAME).config == {"channel": "ops"}


def test_a_required_field_is_missing_after_connecting_and_blocks_other_changes(
    app: Any, api: Any, client: Any, plugin_context: Any
) -> None:
    install(app, OAuthTestPlugin(replace(PROVIDER, config_schema=WithRequired)))
    assert connect(api, client) == {"success": NAME}
    assert "channel" not in plugin_context(NAME).config  # enabled without it
    refused = api.patch(f"/api/integrations/{NAME}", json={"label": "Ops"})
    assert refused.status_code == 400
    assert list(refused.json["error"]["details"]) == ["channel"]
