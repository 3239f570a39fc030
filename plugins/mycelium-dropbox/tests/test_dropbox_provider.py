"""What the plugin declares and how an organization connects it: OAuth with offline access
and PKCE at the settings' URLs, the account recorded, the health check, disconnect."""

from __future__ import annotations

from importlib import metadata
from urllib.parse import parse_qs, urlsplit

import mycelium_dropbox
from dropbox_helpers import ROOT, connect
from mycelium_dropbox.emulator.oauth import ACCOUNT_ID

from hub.testing import open_auth_url


def test_the_entry_point_is_installed():
    found = {ep.name: ep for ep in metadata.entry_points(group="mycelium")}
    assert found["dropbox"].load() is mycelium_dropbox


def test_hook_register_providers(api, app, dropbox):
    [plugin] = [p for p in api.get("/api/plugins").json["items"] if p["name"] == "dropbox"]
    assert plugin["auth"]["kind"] == "oauth2" and plugin["auth"]["pkce"] is True
    settings = {s["name"] for s in plugin["settings"]}
    assert {
        "DROPBOX_CLIENT_ID",
        "DROPBOX_CLIENT_SECRET",
        "DROPBOX_API_BASE",
        "DROPBOX_CONTENT_BASE",
        "DROPBOX_AUTHORIZE_URL",
        "DROPBOX_INLINE_UPLOAD_BYTES",
        "DROPBOX_MAX_UPLOAD_BYTES",
        "DROPBOX_CHUNK_BYTES",
    } <= settings
    # the token and revoke endpoints hang off DROPBOX_API_BASE: three settings move it all
    assert app.config["DROPBOX_TOKEN_URL"] == f"{dropbox.url}/oauth2/token"
    assert app.config["DROPBOX_REVOKE_URL"] == f"{dropbox.url}/2/auth/token/revoke"
    limits = mycelium_dropbox.PROVIDER.rate_limits
    assert (limits.per_second, limits.per_minute, limits.per_hour, limits.per_day) == (
        50,
        300,
        10_000,
        100_000,
    )


def test_connect_asks_for_offline_access_pkce_and_the_seeds_scopes(client, api):
    auth_url = api.get("/api/integrations/dropbox/connect").json["auth_url"]
    url = open_auth_url(client, auth_url)
    query = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
    assert query["token_access_type"] == "offline"
    assert query["code_challenge_method"] == "S256" and query["code_challenge"]
    assert query["scope"] == (
        "files.metadata.write files.content.write files.content.read sharing.write sharing.read"
    )
    assert query["redirect_uri"].endswith("/api/integrations/dropbox/callback")


def test_connecting_records_the_account_and_makes_the_tree(app, client, api, dropbox, hub_clock):
    from hub.testing import run_jobs

    connect(client, api, dropbox)
    shown = api.get("/api/integrations/dropbox").json
    assert shown["status"] == "enabled" and shown["external_account_id"] == ACCOUNT_ID
    run_jobs(app)
    assert {ROOT, f"{ROOT}/Clients", f"{ROOT}/Team Resources", f"{ROOT}/Templates"} <= set(
        dropbox.paths("folder")
    )
    assert f"{ROOT}/Archive" in dropbox.paths("folder")


def test_the_config_has_defaults_and_names_a_bad_field(api, connected):
    assert api.put("/api/integrations/dropbox", json={}).status_code == 200
    config = api.get("/api/integrations/dropbox").json["config"]
    assert config == {"root_path": None, "auto_create_client_folders": True}
    for bad in ({"root_path": "relative"}, {"auto_create_client_folders": "x"}, {"root": "/x"}):
        response = api.patch("/api/integrations/dropbox", json=bad)
        assert response.status_code == 400 and set(bad) <= set(response.json["error"]["details"])
    assert api.get("/api/integrations/dropbox").json["config"] == config


def test_hook_health_check(api, connected):
    result = api.post("/api/integrations/dropbox/test").json
    health = result.get("health") or result
    assert health["ok"] is True
    assert "Avery Agency <avery@agency.test>" in health["message"]
    assert health["details"]["email"] == "avery@agency.test"
    assert health["details"]["space_used"] == 0


def test_an_expired_token_is_refreshed_once_and_the_call_retried(api, connected):
    connected.expire_access_tokens()
    result = api.post("/api/integrations/dropbox/test").json
    assert (result.get("health") or result)["ok"] is True
    assert connected.oauth.counts["refresh_token"] == 1


def test_a_refused_refresh_needs_reauth(app, api, connected):
    from dropbox_helpers import make_client

    from hub.testing import run_jobs

    connected.expire_access_tokens()
    connected.oauth.refresh_tokens.clear()  # revoked at Dropbox: invalid_grant
    make_client(api)
    run_jobs(app)
    assert api.get("/api/integrations/dropbox").json["status"] == "needs_reauth"


def test_disconnect_revokes_the_token(api, connected):
    assert api.delete("/api/integrations/dropbox/connection").status_code in (200, 204)
    assert len(connected.oauth.revoked) == 1
    assert connected.calls("auth/token/revoke")
