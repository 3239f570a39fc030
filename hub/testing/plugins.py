"""The plugin author's fixtures, part of the ``hub.testing`` pytest plugin.

``enable_plugin(name, config)`` enables a plugin for the test organization,
``register_plugin(obj, name)`` registers a temporary plugin object on the test app,
``plugin_context(name)`` builds the context its hooks receive, ``open_auth_url(client,
auth_url)`` opens an OAuth connect flow in a test browser, and every test may only reach
loopback addresses unless marked ``@pytest.mark.allow_network``.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient

from hub.context import PluginContext
from hub.core.connections import integrations
from hub.core.connections.context import build_context
from hub.core.models import Integration
from hub.extensions import db
from hub.plugins import get_plugins
from hub.testing.orgs import OrgHandle


def open_auth_url(browser: FlaskClient, auth_url: str) -> str:
    """The admin's browser opens the ``auth_url`` that ``GET .../connect`` answered: the hub
    binds the flow to `browser` (a test client keeps the cookie) and sends it on. Returns
    the provider's authorize URL; open the provider's redirect back with the same client."""
    parts = urlsplit(auth_url)
    launched = browser.get(f"{parts.path}?{parts.query}")
    if launched.status_code != 302:
        raise AssertionError(f"the auth_url answered {launched.status_code}, not a redirect")
    return str(launched.headers["Location"])


class NetworkRefused(ConnectionRefusedError):
    """A test tried to reach a non-loopback address without opting in."""


def _loopback(address: Any) -> bool:
    host = address[0] if isinstance(address, tuple) else address
    if host == "localhost":
        return True
    try:
        ip = ipaddress.ip_address(str(host).split("%")[0])
    except ValueError:
        return False
    mapped = getattr(ip, "ipv4_mapped", None)
    return ip.is_loopback or bool(mapped and mapped.is_loopback)


def _guarded(real: Callable[..., Any]) -> Callable[..., Any]:
    def connect(sock: socket.socket, address: Any) -> Any:
        if sock.family in (socket.AF_INET, socket.AF_INET6) and not _loopback(address):
            raise NetworkRefused(
                f"hub.testing refused a connection to {address!r}: tests reach only loopback "
                "addresses unless marked @pytest.mark.allow_network"
            )
        return real(sock, address)

    return connect


@pytest.fixture(autouse=True)
def _refuse_outbound_network(request: pytest.FixtureRequest) -> Iterator[None]:
    """Refuse connections to non-loopback addresses unless the test is marked allow_network."""
    if request.node.get_closest_marker("allow_network"):
        yield
        return
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(socket.socket, "connect", _guarded(socket.socket.connect))
        patch.setattr(socket.socket, "connect_ex", _guarded(socket.socket.connect_ex))
        yield


def configure_markers(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "allow_network: let this test connect to non-loopback addresses"
    )


@pytest.fixture
def make_app(hub_config: dict[str, Any]) -> Iterator[Callable[..., Flask]]:
    """``make_app(**overrides)``: another app on the test's database and Redis (a second
    process's view, a different key ring); its connections are closed after the test."""
    from hub.app import create_app

    made: list[Flask] = []

    def make(**overrides: Any) -> Flask:
        made.append(create_app({**hub_config, **overrides}))
        return made[-1]

    yield make
    for application in made:
        with application.app_context():
            db.session.remove()
            db.engine.dispose()


@pytest.fixture
def enable_plugin(app: Flask, org: OrgHandle) -> Callable[..., dict[str, Any]]:
    """``enable_plugin(name, config=None, org=None)``: enable for the test org (or `org`),
    as ``PUT /api/integrations/<name>`` would; returns the integration as the API shows it."""
    test_org = org

    def enable(
        name: str, config: dict[str, Any] | None = None, org: OrgHandle | None = None
    ) -> dict[str, Any]:
        plugins, keyring = get_plugins(app), app.extensions["hub.keyring"]
        with app.app_context():
            org_id = (org or test_org).id
            row = integrations.enable(
                db.session, plugins.providers, keyring, org_id, name, config or {}
            )
            db.session.commit()
            return integrations.render(integrations.require_provider(plugins.providers, name), row)

    return enable


@pytest.fixture
def register_plugin(app: Flask) -> Iterator[Callable[[object, str], None]]:
    """``register_plugin(obj, name)``: add a plugin object (module, class instance) to the
    test app, routes included (before the app's first request); removed after the test."""
    from hub.api.plugin_routes import mount
    from hub.app import apply_provider

    added: list[str] = []

    def register(plugin: object, name: str) -> None:
        plugins = get_plugins(app)
        plugins.add(plugin, name)
        added.append(name)
        provider = plugins.provider(name)
        if provider is not None:
            apply_provider(app, provider)
        if plugins.routes(name) and getattr(app, "_got_first_request", False):
            raise RuntimeError("register_plugin() a plugin with routes before the first request")
        mount(app, name)

    yield register
    for name in added:
        get_plugins(app).remove(name)


@pytest.fixture
def plugin_context(app: Flask, org: OrgHandle) -> Iterator[Callable[..., PluginContext]]:
    """``plugin_context(name, org=None)``: the context a hook of `name` receives for the test
    org's enabled integration (call ``enable_plugin`` first unless it is always on)."""
    app_context = app.app_context()
    app_context.push()

    def make(name: str, org_handle: OrgHandle | None = None) -> PluginContext:
        org_id = (org_handle or org).id
        plugins = get_plugins(app)
        row: Integration | None
        if integrations.require_provider(plugins.providers, name).always_on:
            row = integrations.always_on_integration(db.session, org_id, name)
        else:
            row = integrations.find(db.session, org_id, name)
        if row is None or not row.enabled:
            raise LookupError(f"{name} is not enabled for org {org_id}: call enable_plugin first")
        return build_context(app, db.session, row)

    yield make
    db.session.remove()
    app_context.pop()
