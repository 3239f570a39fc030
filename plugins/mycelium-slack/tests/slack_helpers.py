"""Helpers for the Slack plugin's tests: connecting through the hub's OAuth flow, contexts."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import requests
from flask import Flask
from flask.testing import FlaskClient
from mycelium_slack.emulator import TEAM, SlackEmulator

from hub import EventInfo, PluginContext, find_integration

if TYPE_CHECKING:
    from hub.testing import ApiClient

CLIENT_URL = "https://app.mycelium.test"  # HUB_CLIENT_URL in these tests
ADA = "U0ADA"  # the test org's admin in Slack


def connect(client: FlaskClient, api: ApiClient, slack: SlackEmulator) -> None:
    """An admin connects Slack: connect, consent at Slack, the browser follows the callback."""
    from hub.testing import open_auth_url  # after pytest_plugins registered it (conftest)

    started = api.get("/api/integrations/slack/connect")
    assert started.status_code == 200, started.get_json()
    provider_url = open_auth_url(client, started.get_json()["auth_url"])  # binds `client`
    consent = requests.get(provider_url, allow_redirects=False, timeout=10)
    assert consent.status_code == 302
    callback = urlsplit(consent.headers["Location"])
    done = client.get(f"{callback.path}?{callback.query}")
    assert done.status_code == 302 and "success=slack" in done.headers["Location"], done.headers


def context(app: Flask) -> PluginContext:
    """The connected organization's Slack context (call inside an app context)."""
    ctx = find_integration("slack", TEAM["id"])
    assert ctx is not None, "Slack is not connected"
    return ctx


def event(
    ctx: PluginContext, type_: str, data: dict[str, Any], id_: str = "evt_test1"
) -> EventInfo:
    return EventInfo(id_, type_, ctx.org.id, datetime.now(UTC), data)
