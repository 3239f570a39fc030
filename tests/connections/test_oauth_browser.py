"""The connect flow is bound to the browser that started it (RFC 9700): the auth_url is the
hub's launch URL, which sets a short-lived cookie once; the callback requires it."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from support import oauth_plugin
from support.oauth_plugin import NAME, OAuthTestPlugin, install, integration, launch, oauth_config
from support.oauth_plugin import with_oauth as oauth_variant
from support.oauth_server import OAuthServer

from hub.core.connections.oauth_browser import COOKIE
from hub.extensions import db

oauth_server = oauth_plugin.oauth_server
FRONT = "https://front.example/settings/integrations?"


@pytest.fixture
def hub_config(hub_config: dict[str, Any], oauth_server: OAuthServer) -> dict[str, Any]:
    return oauth_config(hub_config, oauth_server)


@pytest.fixture
def slack_like(app: Any) -> OAuthTestPlugin:
    """A provider without PKCE (as Slack is): only the browser binding protects its codes."""
    return install(app, OAuthTestPlugin(oauth_variant(pkce=False)))


def query(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def auth_url(api: Any) -> str:
    response = api.get(f"/api/integrations/{NAME}/connect")
    assert response.status_code == 200, response.json
    return str(response.json["auth_url"])


def consent(provider_url: str) -> str:
    """The admin consents at the provider; where the provider sends the browser back."""
    answer = requests.get(provider_url, allow_redirects=False, timeout=5)
    assert answer.status_code == 302
    return str(answer.headers["Location"])


def follow(browser: Any, location: str) -> dict[str, str]:
    """A browser opens `location` on the hub; the query it is sent on to the front end with."""
    parts = urlsplit(location)
    answer = browser.get(f"{parts.path}?{parts.query}")
    assert answer.status_code == 302 and answer.headers["Location"].startswith(FRONT)
    return query(answer.headers["Location"])


def connected(app: Any, org_id: int) -> bool:
    with app.app_context():
        row = integration(org_id)
        db.session.commit()
        return row is not None and row.enabled


def test_the_auth_url_is_the_hubs_and_sets_a_short_lived_cookie_before_the_provider(
    api: Any, client: Any, slack_like: Any, oauth_server: OAuthServer
) -> None:
    url = auth_url(api)
    assert url.startswith(f"https://hub.example/api/integrations/{NAME}/authorize?state=")
    parts = urlsplit(url)
    launched = client.get(f"{parts.path}?{parts.query}")
    assert launched.status_code == 302
    assert launched.headers["Location"].startswith(f"{oauth_server.url}/authorize?")
    assert query(launched.headers["Location"])["state"] == query(url)["state"]
    cookie = launched.headers["Set-Cookie"]
    assert cookie.startswith(f"{COOKIE}={query(url)['state']};")
    attributes = {part.strip().split("=")[0].lower() for part in cookie.split(";")[1:]}
    assert {"httponly", "secure", "max-age", "path", "samesite"} <= attributes
    assert "SameSite=Lax" in cookie and f"Path=/api/integrations/{NAME}/callback" in cookie
    max_age = int(cookie.split("Max-Age=")[1].split(";")[0])
    assert 0 < max_age <= 600
    assert launched.headers["Cache-Control"] == "no-store"


def test_the_cookie_is_not_secure_when_the_hub_is_served_over_http(
    app: Any, api: Any, client: Any, slack_like: Any
) -> None:
    app.config["HUB_APP_URL"] = "http://127.0.0.1:8000"
    url = auth_url(api)
    assert url.startswith("http://127.0.0.1:8000/api/")
    parts = urlsplit(url)
    cookie = client.get(f"{parts.path}?{parts.query}").headers["Set-Cookie"]
    assert "Secure" not in cookie and "HttpOnly" in cookie


def test_a_callback_in_another_browser_connects_nothing(
    app: Any, api: Any, client: Any, org: Any, slack_like: Any, oauth_server: OAuthServer
) -> None:
    back = consent(launch(client, auth_url(api)))  # the admin's browser: `client`
    elsewhere = app.test_client()  # a browser that never opened the auth_url
    assert follow(elsewhere, back) == {"error": "browser_mismatch"}
    assert not connected(app, org.id) and oauth_server.counts["token"] == 0
    # the admin's own browser still completes the flow: the state was not used up
    assert follow(client, back) == {"success": NAME}
    assert connected(app, org.id)


def test_another_organizations_state_consented_in_a_victims_browser_connects_nothing(
    app: Any,
    api: Any,
    other_api: Any,
    client: Any,
    org: Any,
    other_org: Any,
    slack_like: Any,
    oauth_server: OAuthServer,
) -> None:
    """An admin of another organization starts a flow and sends the provider URL to our
    admin, who consents to our account: without the cookie, their organization gets none."""
    attacker = app.test_client()
    lure = launch(attacker, auth_url(other_api))
    victim = client
    assert follow(victim, consent(lure)) == {"error": "browser_mismatch"}
    assert not connected(app, other_org.id) and not connected(app, org.id)
    assert oauth_server.counts["token"] == 0


def test_the_launch_url_binds_one_browser_only(
    app: Any, api: Any, client: Any, slack_like: Any
) -> None:
    url = auth_url(api)
    launch(client, url)
    second = app.test_client()
    assert follow(second, url) == {"error": "invalid_state"}
    parts = urlsplit(url)
    assert "Set-Cookie" not in second.get(f"{parts.path}?{parts.query}").headers


@pytest.mark.parametrize("state", ["", "x" * 43, "y" * 200])
def test_a_launch_url_with_an_unknown_state_sends_the_browser_back_with_an_error(
    client: Any, slack_like: Any, state: str
) -> None:
    location = f"/api/integrations/{NAME}/authorize?state={state}"
    assert follow(client, location) == {"error": "invalid_state"}


@pytest.mark.parametrize("name", ["nosuchplugin", "zapier", "null"])
def test_a_launch_url_for_no_oauth_plugin_is_a_404_naming_it(client: Any, name: str) -> None:
    """No hub answer links there (a typo): a 404 as the callback gives, not a redirect."""
    response = client.get(f"/api/integrations/{name}/authorize?state=x")
    assert response.status_code == 404
    assert "name" in response.get_json()["error"]["details"]
