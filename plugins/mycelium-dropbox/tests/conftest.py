from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from dropbox_helpers import CLIENT_URL, connect
from mycelium_dropbox.emulator import DropboxEmulator

pytest_plugins = ["hub.testing"]


@pytest.fixture
def dropbox() -> Iterator[DropboxEmulator]:
    """A loopback Dropbox (API, content and notify hosts), with the hub's app."""
    emulator = DropboxEmulator().start()
    yield emulator
    emulator.stop()


@pytest.fixture
def hub_config(hub_config: dict[str, Any], dropbox: DropboxEmulator) -> dict[str, Any]:
    """The hub pointed at the emulator by the plugin's three URL settings."""
    return {
        **hub_config,
        **dropbox.settings(),
        "HUB_CLIENT_URL": CLIENT_URL,
        "HUB_APP_URL": "http://127.0.0.1:9",
    }


@pytest.fixture
def connected(app, client, api, dropbox, hub_clock):
    """Dropbox connected for the test organization, its set-up job run."""
    from hub.testing import run_jobs  # imported by pytest_plugins first

    connect(client, api, dropbox)
    run_jobs(app)
    return dropbox
