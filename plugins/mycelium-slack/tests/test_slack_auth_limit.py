"""Slack's public routes verify a signature instead of a key: an address that keeps sending
bad signatures is limited like one guessing API keys (HUB_AUTH_FAIL_LIMIT)."""

from __future__ import annotations

import json
from typing import Any

import pytest

EVENTS = "/api/integrations/slack/events"
COMMANDS = "/api/integrations/slack/commands"
CHALLENGE = json.dumps({"type": "url_verification", "challenge": "c-123"}).encode()


@pytest.fixture
def hub_config(hub_config: dict[str, Any]) -> dict[str, Any]:
    return {**hub_config, "HUB_AUTH_FAIL_LIMIT": "3/minute"}


def _post(client: Any, path: str, address: str, headers: dict[str, str]) -> Any:
    headers = {**headers, "Content-Type": "application/json"}
    return client.post(path, data=CHALLENGE, headers=headers, environ_base={"REMOTE_ADDR": address})


def test_bad_signatures_are_limited_per_address(client, slack):
    forged = {**slack.sign(CHALLENGE), "X-Slack-Signature": "v0=" + "0" * 64}
    for path in (EVENTS, COMMANDS, EVENTS):
        response = _post(client, path, "203.0.113.9", forged)
        assert response.status_code == 401
        assert response.get_json()["error"]["code"] == "invalid_signature"
    refused = _post(client, EVENTS, "203.0.113.9", slack.sign(CHALLENGE))
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) >= 1
    answered = _post(client, EVENTS, "203.0.113.10", slack.sign(CHALLENGE))
    assert answered.status_code == 200 and answered.get_json() == {"challenge": "c-123"}


def test_signed_requests_do_not_count(client, slack):
    for _ in range(6):
        response = _post(client, EVENTS, "203.0.113.11", slack.sign(CHALLENGE))
        assert response.status_code == 200
