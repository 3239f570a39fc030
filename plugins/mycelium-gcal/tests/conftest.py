from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from gcal_helpers import CLIENT_URL, connect
from mycelium_gcal import meeting_push
from mycelium_gcal.emulator import GoogleEmulator

pytest_plugins = ["hub.testing"]


@pytest.fixture
def google() -> Iterator[GoogleEmulator]:
    """A loopback Google, with the hub's OAuth client."""
    emulator = GoogleEmulator().start()
    yield emulator
    emulator.stop()


@pytest.fixture
def hub_config(hub_config: dict[str, Any], google: GoogleEmulator) -> dict[str, Any]:
    """The hub pointed at the emulator; pushes go to a closed loopback port unless a test
    serves the hub over HTTP (test_gcal_e2e.py)."""
    return {
        **hub_config,
        **google.settings(),
        "HUB_CLIENT_URL": CLIENT_URL,
        "HUB_APP_URL": "http://127.0.0.1:9",
    }


@pytest.fixture(autouse=True)
def _no_follow_up_sleep(monkeypatch: pytest.MonkeyPatch) -> None:
    """The push re-reads a pending conference at once (the emulator decides when it is
    ready by the number of reads, not by time)."""
    monkeypatch.setattr(meeting_push, "FOLLOW_UP_DELAYS", (0.0, 0.0))


@pytest.fixture
def connected(app, client, api, google, hub_clock):
    """Google Calendar connected for the test organization, its set-up jobs run."""
    from hub.testing import run_jobs  # imported by pytest_plugins first

    connect(client, api, google)
    run_jobs(app)
    return google
