"""Starting an OAuth flow, bound to the browser that started it (RFC 9700, section 4.7).

The ``auth_url`` the connect API returns is the hub's own launch URL. Its first visit
(and only that one) sets a short-lived cookie holding the flow's state, then sends the
browser on to the provider. The callback completes a flow only when the browser brings
that cookie back: a state (or an authorization code) carried into another browser, such
as a victim's, connects nothing.
"""

from __future__ import annotations

import hmac
import json
import secrets
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any
from urllib.parse import urlencode

import redis

from hub.core import clock
from hub.core.connections import oauth
from hub.errors import Conflict
from hub.provider import OAuth2, Provider

COOKIE = "hub_oauth_state"
LAUNCHED_PREFIX = "hub:oauth:launched:"


@dataclass(frozen=True)
class Launch:
    """Where the launch URL sends the browser, and the cookie it sets on the way."""

    provider_url: str
    state: str
    cookie_path: str
    max_age: int
    secure: bool


def require_app_credentials(settings: Mapping[str, Any], app: OAuth2) -> None:
    """Refuse (409, naming the settings) to start a flow whose token exchange cannot work."""
    names = (app.client_id_setting, app.client_secret_setting)
    missing = [name for name in names if not settings.get(name)]
    if missing:
        raise Conflict(
            f"{' and '.join(missing)} not set: the hub has no complete OAuth app for this "
            "provider; the operator must set it.",
            {"setting": missing},
        )


def start(
    client: redis.Redis,
    settings: Mapping[str, Any],
    provider: Provider,
    *,
    org_id: int,
    api_key_id: int,
    user_id: int | None,
) -> str:
    """Remember a new flow; the hub URL to send the admin's browser to (the ``auth_url``)."""
    app = oauth.oauth2_of(provider)
    require_app_credentials(settings, app)
    state = secrets.token_urlsafe(32)  # 256 bits
    verifier = secrets.token_urlsafe(64) if app.pkce else None
    created = clock.now().timestamp()
    flow = oauth.FlowState(provider.name, org_id, api_key_id, user_id, verifier, created)
    client.set(oauth.STATE_PREFIX + state, json.dumps(asdict(flow)), ex=oauth.STATE_TTL_SECONDS)
    return launch_url(settings, provider.name, state)


def launch_url(settings: Mapping[str, Any], plugin: str, state: str) -> str:
    """The hub URL an admin's browser opens first (the API's ``auth_url``)."""
    base = str(settings["HUB_APP_URL"]).rstrip("/")
    return f"{base}/api/integrations/{plugin}/authorize?{urlencode({'state': state})}"


def cookie_path(plugin: str) -> str:
    """The cookie goes back to this plugin's callback only."""
    return f"/api/integrations/{plugin}/callback"


def launch(
    client: redis.Redis, settings: Mapping[str, Any], provider: Provider, state: str | None
) -> Launch:
    """The first visit of a flow's launch URL: where to go, and the cookie to set.

    Raises FlowFailed for an unknown, expired or another plugin's state, and for a launch
    URL already opened once (it binds exactly one browser).
    """
    flow = oauth.peek_state(client, state, provider.name)
    assert state is not None  # peek_state refuses an empty state
    left = int(oauth.STATE_TTL_SECONDS - (clock.now().timestamp() - flow.created_at))
    if left <= 0 or not client.set(LAUNCHED_PREFIX + state, "1", nx=True, ex=left):
        raise oauth.FlowFailed("invalid_state")
    return Launch(
        provider_url=oauth.authorize_url(settings, provider, state, flow.code_verifier),
        state=state,
        cookie_path=cookie_path(provider.name),
        max_age=left,
        secure=str(settings["HUB_APP_URL"]).lower().startswith("https://"),
    )


def check_browser(state: str | None, cookie: str | None) -> None:
    """Refuse a callback whose browser did not open this flow's launch URL."""
    if not state:
        raise oauth.FlowFailed("invalid_state")
    if not cookie or not hmac.compare_digest(state.encode(), cookie.encode()):
        raise oauth.FlowFailed("browser_mismatch")
