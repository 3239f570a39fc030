from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from slack_emulator import SlackEmulator

pytest_plugins = ["hub.testing"]

CLIENT_URL = "https://app.mycelium.test"


@pytest.fixture
def slack() -> Iterator[SlackEmulator]:
    """A loopback Slack, with the hub's app credentials."""
    emulator = SlackEmulator().start()
    yield emulator
    emulator.stop()


@pytest.fixture
def hub_config(hub_config: dict[str, Any], slack: SlackEmulator) -> dict[str, Any]:
    """The hub pointed at the emulator."""
    return {**hub_config, **slack.settings(), "HUB_CLIENT_URL": CLIENT_URL}
