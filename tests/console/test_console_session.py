"""Console sessions over the REST API: sign-in with a key or a one-time link, the cookie's
attributes, CSRF on every change, sign-out on the server; and the console's own pages."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from hub.console_commands import make_admin_link
from hub.core import clock, console_sessions
from hub.core.models import ApiKey, Organization, User
from hub.extensions import db
from hub.testing import OrgHandle


def _sign_in(client: FlaskClient, key: str) -> dict[str, Any]:
    response = client.post("/api/session", json={"api_key": key})
    assert response.status_code == 201, response.json
    return response.json


def _link_token(app: Flask, org: OrgHandle, email: str | None = None) -> str:
    with app.app_context():
        row = db.session.get(Organization, org.id)
        user = db.session.scalar(select(User).where(User.email == email)) if email else None
        url = make_admin_link(app, row, user)
    assert "/admin/link#" in url
    return url.split("#", 1)[1]


def test_sign_in_with_a_key_sets_a_strict_httponly_cookie_and_answers_the_csrf_token(client, org):
    response = client.post("/api/session", json={"api_key": org.admin_key})
    assert response.status_code == 201
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("hub_session=")
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/" in cookie
    assert "Secure" not in cookie  # HUB_APP_URL is http here
    assert org.admin_key not in cookie
    body = response.json
    assert body["role"] == "admin" and body["org"]["id"] == org.id and body["csrf_token"]
    assert body["user"]["email"] == org.admin.email

    assert client.get("/api/session").json["csrf_token"] == body["csrf_token"]
    assert client.get("/api/clients").status_code == 200  # the cookie authenticates reads


def test_a_bad_key_signs_nothing_in(client, org):
    response = client.post(
        "/api/session", json={"api_key": "mhk_000000000000_nope-nope-nope-nope-"}
    )
    assert response.status_code == 401
    assert "Set-Cookie" not in response.headers
    assert client.get("/api/clients").status_code == 401


def test_changes_need_the_csrf_token(client, org):
    csrf = _sign_in(client, org.admin_key)["csrf_token"]
    refused = client.post("/api/clients", json={"name": "Forged"})
    assert refused.status_code == 403
    assert "X-CSRF-Token" in refused.json["error"]["message"]
    wrong = client.post("/api/clients", json={"name": "Forged"}, headers={"X-CSRF-Token": "x"})
    assert wrong.status_code == 403
    assert client.get("/api/clients").json["items"] == []
    made = client.post("/api/clients", json={"name": "Real"}, headers={"X-CSRF-Token": csrf})
    assert made.status_code == 201


def test_a_member_session_is_refused_admin_changes(client, org):
    csrf = _sign_in(client, org.member_key)["csrf_token"]
    assert client.get("/api/session").json["role"] == "member"
    response = client.put("/api/integrations/zapier", json={}, headers={"X-CSRF-Token": csrf})
    assert response.status_code == 403


def test_sign_out_ends_the_session_on_the_server(app, client, org):
    csrf = _sign_in(client, org.admin_key)["csrf_token"]
    old_cookie = client.get_cookie("hub_session").value
    assert client.delete("/api/session").status_code == 403  # sign-out is a change too
    response = client.delete("/api/session", headers={"X-CSRF-Token": csrf})
    assert response.status_code == 204
    assert "hub_session=;" in response.headers["Set-Cookie"]
    client.set_cookie("hub_session", old_cookie)  # a copy of the old cookie is worth nothing
    assert client.get("/api/clients").status_code == 401
    assert client.get("/api/session").status_code == 401
    # the pasted key itself still works: signing out ends the session, not the key
    assert (
        client.get("/api/me", headers={"Authorization": f"Bearer {org.admin_key}"}).status_code
        == 200
    )


def test_a_one_time_link_works_once_and_its_key_dies_with_the_session(app, client, org):
    token = _link_token(app, org, org.admin.email)
    response = client.post("/api/session/link", json={"token": token})
    assert response.status_code == 201
    assert response.json["user"]["email"] == org.admin.email and response.json["role"] == "admin"
    csrf = response.json["csrf_token"]
    again = app.test_client().post("/api/session/link", json={"token": token})
    assert again.status_code == 401 and "Set-Cookie" not in again.headers
    with app.app_context():
        minted = db.session.scalars(
            select(ApiKey).where(ApiKey.name == console_sessions.LINK_KEY_NAME)
        ).all()
        assert len(minted) == 1 and minted[0].revoked_at is None
    client.delete("/api/session", headers={"X-CSRF-Token": csrf})
    with app.app_context():
        assert db.session.get(ApiKey, minted[0].id).revoked_at is not None


def test_a_link_for_a_member_signs_in_a_member(app, client, org):
    member_email = f"member@{org.org.slug}.example"
    token = _link_token(app, org, member_email)
    assert client.post("/api/session/link", json={"token": token}).json["role"] == "member"


def test_a_link_expires_after_ten_minutes(app, client, org, redis_client):
    token = _link_token(app, org)
    keys = redis_client.keys(console_sessions.LINK_PREFIX + "*")
    assert len(keys) == 1 and 590 <= redis_client.ttl(keys[0]) <= 600
    assert token.encode() not in keys[0]  # stored hashed
    redis_client.delete(keys[0])  # what Redis does when the 10 minutes are up
    assert client.post("/api/session/link", json={"token": token}).status_code == 401


def test_an_expired_session_is_refused(app, client, org, monkeypatch):
    _sign_in(client, org.admin_key)
    later = clock.now().timestamp() + console_sessions.SESSION_TTL_SECONDS + 1
    monkeypatch.setattr(
        clock,
        "now",
        lambda: __import__("datetime").datetime.fromtimestamp(later, __import__("datetime").UTC),
    )
    assert client.get("/api/clients").status_code == 401


def test_a_revoked_key_ends_its_sessions(app, client, org):
    _sign_in(client, org.admin_key)
    prefix = org.admin_key[:16]
    with app.app_context():
        key = db.session.scalar(select(ApiKey).where(ApiKey.prefix == prefix))
        key.revoked_at = clock.now()
        db.session.commit()
    assert client.get("/api/clients").status_code == 401


def test_a_bearer_key_wins_over_a_cookie_and_needs_no_csrf(client, org, other_org):
    _sign_in(client, org.admin_key)
    headers = {"Authorization": f"Bearer {other_org.admin_key}"}
    assert client.get("/api/me", headers=headers).json["org"]["id"] == other_org.id
    assert client.post("/api/clients", json={"name": "Bearer"}, headers=headers).status_code == 201
    assert client.get("/api/session", headers=headers).status_code == 404


@pytest.mark.parametrize(
    "path",
    ["/admin/", "/admin/integrations", "/admin/clients", "/admin/usage", "/admin/plugins/slack"],
)
def test_console_pages_are_one_static_shell_under_a_strict_csp(client, path):
    response = client.get(path)
    assert response.status_code == 200 and response.mimetype == "text/html"
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe" not in csp and "frame-ancestors 'none'" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    html = response.get_data(as_text=True)
    assert '<script type="module" src="/admin/static/app.js"></script>' in html
    assert "<script>" not in html and "http://" not in html and "https://" not in html


def test_the_preview_frame_runs_only_the_hubs_script_and_styles_inline(client):
    """/admin/preview (a plugin page's preview): its nested frame inherits this policy, so an
    email's inline styles apply; still no inline or foreign script, framed by the console only."""
    response = client.get("/admin/preview")
    assert response.status_code == 200 and response.mimetype == "text/html"
    csp = dict(
        part.strip().split(" ", 1)
        for part in response.headers["Content-Security-Policy"].split(";")
    )
    assert csp["script-src"] == "'self'" and csp["style-src"] == "'unsafe-inline'"
    assert csp["frame-ancestors"] == "'self'" and csp["default-src"] == "'none'"
    assert response.headers["X-Frame-Options"] == "SAMEORIGIN"
    html = response.get_data(as_text=True)
    assert '<script defer src="/admin/static/preview.js"></script>' in html
    assert "<script>" not in html
    console = client.get("/admin/integrations").headers["Content-Security-Policy"]
    assert "frame-src 'self'" in console and "style-src 'self';" in console


def test_console_scripts_load_nothing_from_elsewhere(client):
    for name in ("app.js", "lib.js", "pages/integrations.js", "console.css"):
        response = client.get(f"/admin/static/{name}")
        assert response.status_code == 200, name
        text = response.get_data(as_text=True)
        response.close()
        assert "http://" not in text and "https://" not in text, name
        assert "innerHTML" not in text and "eval(" not in text, name


def test_the_seeds_landing_url_redirects_to_the_console_keeping_its_query(client):
    response = client.get("/settings/integrations?success=slack")
    assert response.status_code == 302
    assert response.headers["Location"] == "/admin/integrations?success=slack"


def test_plugins_describe_config_defaults_and_choices(api):
    smtp = next(p for p in api.get("/api/plugins").json["items"] if p["name"] == "smtp")
    fields = {field["name"]: field for field in smtp["config"]}
    assert fields["preset"]["default"] == "custom" and "gmail" in fields["preset"]["enum"]
    assert fields["security"]["enum"] and fields["password"]["secret"] is True
    assert fields["from_address"]["required"] is True and fields["host"]["enum"] is None
    assert (
        fields["port"]["kind"] == "integer" and fields["send_client_welcome"]["kind"] == "boolean"
    )


def test_the_cookie_is_secure_when_the_hub_is_served_over_https(hub_config, redis_client, org):
    from hub.app import create_app

    secure = create_app({**hub_config, "HUB_APP_URL": "https://hub.acme.example"})
    response = secure.test_client().post("/api/session", json={"api_key": org.admin_key})
    assert response.status_code == 201
    assert "Secure" in response.headers["Set-Cookie"]
    with secure.app_context():
        db.session.remove()
        db.engine.dispose()
