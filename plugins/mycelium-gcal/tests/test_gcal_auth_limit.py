"""Google's push notifications carry a channel token instead of an API key: an address that
keeps sending wrong tokens is limited like one guessing keys (HUB_AUTH_FAIL_LIMIT)."""

from __future__ import annotations

from typing import Any

import pytest

NOTIFY = "/api/integrations/gcal/notifications"


@pytest.fixture
def hub_config(hub_config: dict[str, Any]) -> dict[str, Any]:
    return {**hub_config, "HUB_AUTH_FAIL_LIMIT": "3/minute"}


@pytest.fixture
def channel(connected) -> dict[str, str]:
    """The headers of a genuine notification on the organization's channel."""
    [watch] = connected.calls("POST", path="calendars/primary/events/watch")
    return {
        "X-Goog-Channel-ID": watch["body"]["id"],
        "X-Goog-Channel-Token": watch["body"]["token"],
        "X-Goog-Resource-State": "sync",
    }


def _post(client: Any, address: str, headers: dict[str, str]) -> Any:
    return client.post(NOTIFY, headers=headers, environ_base={"REMOTE_ADDR": address})


def test_wrong_channel_tokens_are_limited_per_address(client, channel):
    forged = {**channel, "X-Goog-Channel-Token": "forged"}
    for _ in range(3):
        response = _post(client, "203.0.113.9", forged)
        assert response.status_code == 401
    refused = _post(client, "203.0.113.9", channel)
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) >= 1
    assert _post(client, "203.0.113.10", channel).status_code == 200


def test_unknown_channels_and_good_tokens_do_not_count(client, channel):
    """Google may still post for a channel just stopped: those 404s must not block it."""
    stopped = {**channel, "X-Goog-Channel-ID": "0" * 32}
    for _ in range(4):
        assert _post(client, "203.0.113.11", stopped).status_code == 404
        assert _post(client, "203.0.113.11", channel).status_code == 200
