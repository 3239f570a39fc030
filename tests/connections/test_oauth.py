"""OAuth 2.0 connect flow end to end, against a real loopback authorization server."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from sqlalchemy import func, select, text, update
from support import oauth_plugin
from support.oauth_plugin import (
    NAME,
    OAuthTestPlugin,
    install,
    integration,
    launch,
    oauth_config,
    with_oauth,
)
from support.oauth_server import OAuthServer

from hub import PermanentError, Token
from hub.core import clock
from hub.core.connections.oauth import STATE_PREFIX
from hub.core.connections.oauth_browser import COOKIE
from hub.core.models import ApiKey, Event, Integration
from hub.extensions import db
from hub.plugins import get_plugins

FRONT = "https://front.example/settings/integrations"
oauth_server = oauth_plugin.oauth_server
plugin = oauth_plugin.plugin


@pytest.fixture
def hub_config(hub_config: dict[str, Any], oauth_server: OAuthServer) -> dict[str, Any]:
    return oauth_config(hub_config, oauth_server)


@pytest.fixture(autouse=True)
def _clock():
    yield
    clock.set_now(None)


def query(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def start(api, name: str = NAME) -> str:
    response = api.get(f"/api/integrations/{name}/connect")
    assert response.status_code == 200, response.json
    return response.json["auth_url"]


def authorize(client, auth_url: str, **extra: str) -> str:
    """The admin's browser opens the auth_url (the hub binds the flow to it) and consents at
    the provider: returns where the provider sends it back."""
    response = requests.get(
        launch(client, auth_url), params=extra, allow_redirects=False, timeout=5
    )
    assert response.status_code == 302
    return response.headers["Location"]


def callback(client, location: str, bind: bool = False) -> dict[str, str]:
    """The browser follows the provider's redirect to the hub; where the hub sends it.

    `bind`: the browser first holds a cookie for the state in `location` (as one that
    opened its launch URL would), so what is tested is the state itself."""
    parts = urlsplit(location)
    if bind:
        path = parts.path if parts.path.endswith("/callback") else "/"
        client.set_cookie(COOKIE, query(location).get("state", ""), path=path)
    response = client.get(f"{parts.path}?{parts.query}")
    assert response.status_code == 302
    target = response.headers["Location"]
    assert target.startswith(FRONT + "?")
    return query(target)


def stored(app) -> tuple[int, int]:
    """(integrations, events) rows in the whole database."""
    with app.app_context():
        return (
            db.session.scalar(select(func.count()).select_from(Integration)),
            db.session.scalar(select(func.count()).select_from(Event)),
        )


def test_connect_returns_an_authorize_url_with_state_pkce_and_the_exact_redirect(
    api, client, plugin, oauth_server, redis_client
):
    params = query(launch(client, start(api)))
    assert urlsplit(launch(client, start(api))).netloc == urlsplit(oauth_server.url).netloc
    assert params["redirect_uri"] == f"https://hub.example/api/integrations/{NAME}/callback"
    assert params["client_id"] == "hub-test-client"
    assert params["response_type"] == "code"
    assert params["scope"] == "files.read files.write"
    assert params["token_access_type"] == "offline"
    assert params["code_challenge_method"] == "S256"
    assert len(params["state"]) >= 43  # 256 bits, base64url
    assert 0 < redis_client.ttl(STATE_PREFIX + params["state"]) <= 600
    assert params["code_challenge"] not in redis_client.get(STATE_PREFIX + params["state"]).decode()


def test_connect_needs_an_admin_key_and_an_installed_oauth_plugin(api, member_api, plugin):
    assert member_api.get(f"/api/integrations/{NAME}/connect").status_code == 403
    assert api.get("/api/integrations/nosuch/connect").status_code == 404


def test_connect_stores_encrypted_tokens_enables_and_records_the_event(
    app, api, client, org, plugin, oauth_server
):
    result = callback(client, authorize(client, start(api)))
    assert result == {"success": NAME}
    issued = oauth_server.token_requests[-1]
    assert issued["grant_type"] == "authorization_code"
    assert "code_verifier" in issued  # the server checked it against the challenge
    with app.app_context():
        row = integration(org.id)
        assert (row.enabled, row.status, row.external_account_id) == (True, "enabled", "acct-42")
        assert row.token_expires_at is not None and row.connected_at is not None
        raw = db.session.execute(text("SELECT * FROM integrations")).one()
    access = next(iter(oauth_server.access_tokens))
    refresh = next(iter(oauth_server.refresh_tokens))
    assert access not in str(raw) and refresh not in str(raw)
    assert {"oauth.access_token", "oauth.refresh_token"} <= set(row.secrets)
    events = api.get("/api/events?type=integration.enabled").json["items"]
    assert [e["data"]["plugin"] for e in events] == [NAME]
    assert events[0]["data"]["external_account_id"] == "acct-42"


def test_the_plugin_reads_the_access_token_but_never_the_refresh_token(
    app, api, client, org, plugin, oauth_server
):
    from support.oauth_plugin import context

    callback(client, authorize(client, start(api)))
    with app.app_context():
        ctx = context(app, org.id)
        assert ctx.access_token() in oauth_server.access_tokens
        assert ctx.secret("oauth.account_id") == "acct-42"
        assert ctx.secret("oauth.refresh_token") is None


def test_without_pkce_no_challenge_is_sent(app, api, client, oauth_server):
    install(app, OAuthTestPlugin(with_oauth(pkce=False)))
    params = query(launch(client, start(api)))
    assert "code_challenge" not in params
    assert callback(client, authorize(client, start(api))) == {"success": NAME}
    assert "code_verifier" not in oauth_server.token_requests[-1]


def test_client_secret_basic_sends_the_credentials_in_the_header(app, api, client, oauth_server):
    install(app, OAuthTestPlugin(with_oauth(token_endpoint_auth="client_secret_basic")))
    assert callback(client, authorize(client, start(api))) == {"success": NAME}
    sent = oauth_server.token_requests[-1]
    assert sent["basic_auth"] is True and "client_secret" not in sent


def _tamper(state: str) -> str:
    return state[:-1] + ("A" if state[-1] != "A" else "B")


def _replace_state(location: str, state: str | None) -> str:
    parts = urlsplit(location)
    params = query(location)
    if state is None:
        params.pop("state")
    else:
        params["state"] = state
    return parts._replace(query="&".join(f"{k}={v}" for k, v in params.items())).geturl()


@pytest.mark.parametrize("case", ["missing", "tampered", "unknown", "expired", "revoked_key"])
def test_a_bad_state_is_refused_and_nothing_is_stored(
    app, api, client, org, plugin, oauth_server, case
):
    location = authorize(client, start(api))
    state = query(location)["state"]
    bad = {"missing": None, "tampered": _tamper(state), "unknown": "x" * 43}.get(case, state)
    if case == "expired":
        clock.set_now(clock.now() + timedelta(seconds=601))
    if case == "revoked_key":
        with app.app_context():
            db.session.execute(update(ApiKey).values(revoked_at=clock.now()))
            db.session.commit()
    before = stored(app)
    assert callback(client, _replace_state(location, bad), bind=True) == {"error": "invalid_state"}
    assert stored(app) == before
    assert oauth_server.counts["token"] == 0


def test_a_state_is_single_use(app, api, client, plugin, oauth_server):
    location = authorize(client, start(api))
    assert callback(client, location) == {"success": NAME}
    before = stored(app)
    assert callback(client, location, bind=True) == {"error": "invalid_state"}
    assert stored(app) == before
    assert oauth_server.counts["token"] == 1


def test_another_plugins_state_is_refused(app, api, client, plugin, oauth_server):
    get_plugins(app).add(OAuthTestPlugin(_renamed("othoauth")), "othoauth")
    location = authorize(client, start(api, "othoauth"))
    before = stored(app)
    assert callback(client, location.replace("/othoauth/", f"/{NAME}/"), bind=True) == {
        "error": "invalid_state"
    }
    assert stored(app) == before
    # the state was spent: its own plugin cannot use it afterwards either
    assert callback(client, location) == {"error": "invalid_state"}


def _renamed(name: str):
    from dataclasses import replace

    from support.oauth_plugin import PROVIDER

    return replace(PROVIDER, name=name)


def test_the_state_binds_the_organization_that_started(
    app, api, other_api, client, org, other_org, plugin
):
    location = authorize(client, start(other_api))
    assert callback(client, location) == {"success": NAME}
    with app.app_context():
        assert integration(org.id) is None
        assert integration(other_org.id).enabled


def test_access_denied_at_the_provider_stores_nothing(app, api, client, plugin, oauth_server):
    auth_url = start(api)
    before = stored(app)
    assert callback(client, authorize(client, auth_url, deny="1")) == {"error": "access_denied"}
    assert stored(app) == before
    assert oauth_server.counts["token"] == 0
    # the state is spent even though the admin said no
    state = query(auth_url)["state"]
    forged = f"/api/integrations/{NAME}/callback?code=x&state={state}"
    assert callback(client, forged, bind=True) == {"error": "invalid_state"}


@pytest.mark.parametrize(
    ("answer", "code"),
    [
        ((400, {"error": "invalid_grant"}), "invalid_grant"),
        ((401, {"error": "invalid_client"}), "invalid_client"),
        ((503, {"error": "busy"}), "temporarily_unavailable"),
        ((200, {"token_type": "bearer"}), "invalid_token_response"),
        ((400, {"error": "<script>"}), "invalid_request"),
    ],
)
def test_a_failed_exchange_stores_nothing(app, api, client, plugin, oauth_server, answer, code):
    location = authorize(client, start(api))
    oauth_server.fail_token = answer
    before = stored(app)
    assert callback(client, location) == {"error": code}
    assert stored(app) == before


def test_an_unreachable_token_endpoint_stores_nothing(app, api, client, plugin, oauth_server):
    location = authorize(client, start(api))
    oauth_server.stop()
    before = stored(app)
    assert callback(client, location) == {"error": "temporarily_unavailable"}
    assert stored(app) == before
    oauth_server.start()  # so the fixture can stop it


def _slack_style(data: dict[str, Any]) -> Token:
    if not data.get("ok"):
        raise PermanentError(str(data.get("error")))
    return Token(access_token=data["access_token"], external_account_id=data["team"]["id"])


def test_an_error_in_a_200_body_is_refused_by_the_providers_parser(app, api, client, oauth_server):
    install(app, OAuthTestPlugin(with_oauth(parse_token_response=_slack_style)))
    location = authorize(client, start(api))
    oauth_server.body_error = {"ok": False, "error": "invalid_code"}
    before = stored(app)
    assert callback(client, location) == {"error": "invalid_code"}
    assert stored(app) == before


def test_the_providers_parser_sets_the_account_and_extra_fields(
    app, api, client, org, oauth_server
):
    def parse(data: dict[str, Any]) -> Token:
        return Token(
            access_token=data["access_token"],
            external_account_id="T123",
            extra={"webhook": {"url": "https://hooks.example/1"}},
            expires_in=60,
        )

    install(app, OAuthTestPlugin(with_oauth(parse_token_response=parse)))
    assert callback(client, authorize(client, start(api))) == {"success": NAME}
    with app.app_context():
        from support.oauth_plugin import context

        ctx = context(app, org.id)
        assert ctx.integration.external_account_id == "T123"
        assert ctx.secret("oauth.webhook") == '{"url":"https://hooks.example/1"}'
        assert integration(org.id).token_expires_at is not None


def test_disconnect_revokes_forgets_the_tokens_and_disables(
    app, api, client, org, plugin, oauth_server
):
    callback(client, authorize(client, start(api)))
    refresh = next(iter(oauth_server.refresh_tokens))
    response = api.delete(f"/api/integrations/{NAME}/connection")
    assert response.status_code == 200
    assert response.json == {"plugin": NAME, "connected": False, "revoked": True}
    assert oauth_server.revoked == [refresh]
    with app.app_context():
        row = integration(org.id)
        assert not any(name.startswith("oauth.") for name in row.secrets)
        assert (row.enabled, row.status, row.token_expires_at) == (False, "disabled", None)
    types = [e["type"] for e in api.get("/api/events").json["items"]]
    assert "integration.disabled" in types


def test_hook_prepare_disconnect(app, api, client, org, plugin, oauth_server):
    callback(client, authorize(client, start(api)))
    seen: list[tuple[str, bool]] = []

    def clean_up(ctx):  # the provider still accepts the token when the plugin cleans up
        token = ctx.access_token()
        seen.append((token, token in oauth_server.access_tokens and not oauth_server.revoked))

    plugin.on_disconnect = clean_up
    assert api.delete(f"/api/integrations/{NAME}/connection").json["revoked"] is True
    assert [ok for _, ok in seen] == [True] and oauth_server.revoked


def test_a_failing_prepare_disconnect_does_not_stop_the_disconnect(
    app, api, client, org, plugin, oauth_server
):
    callback(client, authorize(client, start(api)))

    def fail(ctx):
        raise RuntimeError("the provider is down")

    plugin.on_disconnect = fail
    response = api.delete(f"/api/integrations/{NAME}/connection")
    assert response.status_code == 200 and response.json["revoked"] is True
    with app.app_context():
        assert not any(name.startswith("oauth.") for name in integration(org.id).secrets)


def test_status_shows_the_connection_and_its_expiry(api, client, plugin):
    def mine() -> dict[str, Any]:
        items = api.get("/api/integrations/status").json["integrations"]
        return next(item for item in items if item["plugin"] == NAME)

    assert (mine()["connected"], mine()["token_expires_at"]) == (False, None)
    callback(client, authorize(client, start(api)))
    assert mine()["connected"] is True and mine()["token_expires_at"] is not None
    assert mine()["external_account_id"] == "acct-42"
    api.delete(f"/api/integrations/{NAME}/connection")
    assert (mine()["connected"], mine()["enabled"]) == (False, False)


def test_disconnect_is_an_admins_and_only_for_its_own_organization(
    api, other_api, member_api, client, plugin
):
    callback(client, authorize(client, start(api)))
    assert member_api.delete(f"/api/integrations/{NAME}/connection").status_code == 403
    assert other_api.delete(f"/api/integrations/{NAME}/connection").status_code == 404


@pytest.mark.parametrize("name", ["nosuchplugin", "zapier"])
def test_a_callback_for_no_oauth_plugin_is_a_404_naming_it(client, name):
    response = client.get(f"/api/integrations/{name}/callback?state=x&code=y")
    assert response.status_code == 404
    assert "name" in response.get_json()["error"]["details"]
