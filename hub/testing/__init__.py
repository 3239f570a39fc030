"""Pytest fixtures for the hub and for plugin authors: `pytest_plugins = ["hub.testing"]`.

Everything is real: a migrated database (SQLite always, PostgreSQL too when
`HUB_TEST_DATABASE_URL` is set), and Redis from `REDIS_URL` or an embedded server.

The kit is one package: `services` (databases, Redis, the app), `orgs` (organizations,
keys, the API client), `plugins` (registering, enabling and connecting a plugin under
test), `jobs` (running the worker's jobs, a frozen clock) and `receiver` (a loopback HTTP
server keeping what is posted to it). Import from `hub.testing`.
"""

from __future__ import annotations

import pytest

from hub.testing.jobs import FrozenClock, hub_clock, run_jobs
from hub.testing.orgs import (
    ApiClient,
    OrgHandle,
    api,
    make_org,
    member_api,
    org,
    other_api,
    other_org,
)
from hub.testing.plugins import (
    _refuse_outbound_network,
    configure_markers,
    enable_plugin,
    make_app,
    open_auth_url,
    plugin_context,
    register_plugin,
)
from hub.testing.receiver import LoopbackReceiver, Received
from hub.testing.services import (
    app,
    client,
    hub_config,
    hub_database_template,
    hub_database_url,
    hub_redis_url,
    plugin_migration_dirs,
    redis_client,
)

__all__ = [
    "ApiClient",
    "FrozenClock",
    "LoopbackReceiver",
    "OrgHandle",
    "Received",
    "_refuse_outbound_network",
    "api",
    "app",
    "client",
    "enable_plugin",
    "hub_clock",
    "hub_config",
    "hub_database_template",
    "hub_database_url",
    "hub_redis_url",
    "make_app",
    "make_org",
    "member_api",
    "open_auth_url",
    "org",
    "other_api",
    "other_org",
    "plugin_context",
    "plugin_migration_dirs",
    "redis_client",
    "register_plugin",
    "run_jobs",
]


def pytest_configure(config: pytest.Config) -> None:
    configure_markers(config)
