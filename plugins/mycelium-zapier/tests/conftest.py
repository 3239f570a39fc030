from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from zapier_receiver import Receiver

pytest_plugins = ["hub.testing"]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """Zapier's hook URLs, on loopback."""
    server = Receiver().start()
    yield server
    server.stop()


@pytest.fixture
def hub_config(hub_config: dict[str, Any]) -> dict[str, Any]:
    """Egress to the loopback receiver allowed (http, 127.0.0.0/8); nothing else changes."""
    return {
        **hub_config,
        "HUB_EGRESS_ALLOW_HTTP": "1",
        "HUB_EGRESS_ALLOWED_CIDRS": "127.0.0.0/8",
    }


@pytest.fixture
def zapier(enable_plugin: Callable[..., dict[str, Any]]) -> dict[str, Any]:
    """Zapier enabled for the test organization."""
    return enable_plugin("zapier")
