"""A provider plugin for the connection tests: OAuth 2.0 against tests/support/oauth_server.py."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from flask import Flask
from sqlalchemy import select

from hub import HealthResult, OAuth2, PluginContext, Provider, RateLimits, Setting, Token, hookimpl
from hub.core.connections.context import build_context
from hub.core.models import Integration
from hub.extensions import db
from hub.plugins import get_plugins
from hub.testing import open_auth_url
from support.oauth_server import OAuthServer

NAME = "testoauth"

OAUTH = OAuth2(
    authorize_url_setting="TESTOAUTH_AUTHORIZE_URL",
    token_url_setting="TESTOAUTH_TOKEN_URL",
    client_id_setting="TESTOAUTH_CLIENT_ID",
    client_secret_setting="TESTOAUTH_CLIENT_SECRET",
    revoke_url_setting="TESTOAUTH_REVOKE_URL",
    scopes=("files.read", "files.write"),
    extra_authorize_params={"token_access_type": "offline"},
    account_id_field="account_id",
    keep_fields=("account_id",),
)

PROVIDER = Provider(
    name=NAME,
    title="Test OAuth",
    auth="oauth2",
    oauth2=OAUTH,
    rate_limits=RateLimits(per_second=5, per_minute=100),
    settings=(
        Setting("TESTOAUTH_AUTHORIZE_URL", "https://auth.invalid/authorize"),
        Setting("TESTOAUTH_TOKEN_URL", "https://auth.invalid/token"),
        Setting("TESTOAUTH_REVOKE_URL", "https://auth.invalid/revoke"),
        Setting("TESTOAUTH_API_BASE", "https://api.invalid"),
        Setting("TESTOAUTH_CLIENT_ID", None),
        Setting("TESTOAUTH_CLIENT_SECRET", None, secret=True),
    ),
)


class OAuthTestPlugin:
    """Registered per test; ``provider`` and ``own_refresh`` vary the behaviour."""

    def __init__(self, provider: Provider = PROVIDER, own_refresh: Token | None = None) -> None:
        self.provider = provider
        self.own_refresh = own_refresh
        self.refresh_calls = 0
        self.health: Any = None  # a callable(ctx) standing in for the check below
        self.on_disconnect: Any = None  # a callable(ctx): the clean-up before revoking

    @hookimpl
    def register_providers(self, register: Any) -> None:
        register(self.provider)

    @hookimpl
    def health_check(self, ctx: PluginContext) -> HealthResult:
        if self.health is not None:
            return self.health(ctx)  # type: ignore[no-any-return]
        url = f"{ctx.setting('TESTOAUTH_API_BASE')}/userinfo"
        response = ctx.http.get(url, headers={"Authorization": f"Bearer {ctx.access_token()}"})
        return HealthResult(ok=response.ok, message=f"userinfo answered {response.status_code}")

    @hookimpl
    def prepare_disconnect(self, ctx: PluginContext) -> None:
        if self.on_disconnect is not None:
            self.on_disconnect(ctx)

    @hookimpl
    def refresh_token(self, ctx: PluginContext, token: Token) -> Token | None:
        self.refresh_calls += 1
        return self.own_refresh


def with_oauth(**changes: Any) -> Provider:
    return replace(PROVIDER, oauth2=replace(OAUTH, **changes))


def install(app: Flask, plugin: OAuthTestPlugin | None = None) -> OAuthTestPlugin:
    plugin = plugin or OAuthTestPlugin()
    get_plugins(app).add(plugin, NAME)
    return plugin


def integration(org_id: int) -> Integration | None:
    """The org's test integration, read fresh (inside an app context)."""
    db.session.expire_all()
    stmt = select(Integration).where(Integration.org_id == org_id, Integration.plugin == NAME)
    return db.session.scalar(stmt)


def context(app: Flask, org_id: int) -> PluginContext:
    """A plugin context for the org's test integration (inside an app context)."""
    row = integration(org_id)
    assert row is not None
    return build_context(app, db.session, row)


# ----- fixtures (imported by the connection tests) -----


@pytest.fixture
def oauth_server() -> Iterator[OAuthServer]:
    server = OAuthServer().start()
    yield server
    server.stop()


def oauth_config(config: dict[str, Any], server: OAuthServer) -> dict[str, Any]:
    """``hub_config`` pointing the test provider at ``server``."""
    return {
        **config,
        **server.settings(),
        "HUB_APP_URL": "https://hub.example",
        "HUB_CLIENT_URL": "https://front.example",
    }


@pytest.fixture
def plugin(app: Flask) -> Iterator[OAuthTestPlugin]:
    registered = install(app)
    yield registered
    get_plugins(app).remove(NAME)


# ----- the connect flow, as an admin's browser goes through it -----


def query_of(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def launch(client: Any, auth_url: str) -> str:
    """The admin's browser (`client`) opens the hub's ``auth_url``: the hub binds the flow
    to it with a cookie and sends it on; the provider's authorize URL."""
    return open_auth_url(client, auth_url)


def connect(api: Any, client: Any, name: str = NAME) -> dict[str, str]:
    """Connect over real HTTP: /connect, the hub's launch URL, the provider's consent, the
    callback (in the same browser); the result."""
    auth_url = api.get(f"/api/integrations/{name}/connect").json["auth_url"]
    consent = requests.get(launch(client, auth_url), allow_redirects=False, timeout=5)
    parts = urlsplit(consent.headers["Location"])
    answer = client.get(f"{parts.path}?{parts.query}")
    return query_of(answer.headers["Location"])


# ----- another process (a spawn target: it imports this module afresh) -----


def access_tokens_in_process(
    config: dict[str, Any], org_id: int, start_at: float, callers: int
) -> list[str]:
    """A new app in this process, and `callers` threads calling ctx.access_token() at once."""
    from hub.app import create_app
    from hub.core.connections.context import build_context
    from hub.core.connections.integrations import find

    app = create_app(config)
    install(app)
    results: list[str] = []
    errors: list[BaseException] = []

    def call() -> None:
        with app.app_context():
            try:
                ctx = build_context(app, db.session, find(db.session, org_id, NAME))
                time.sleep(max(0.0, start_at - time.time()))
                results.append(ctx.access_token())
            except BaseException as exc:  # handed to the parent
                errors.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=call) for _ in range(callers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with app.app_context():
        db.engine.dispose()
    if errors:
        raise errors[0]
    return results
