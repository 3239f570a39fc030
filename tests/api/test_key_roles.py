"""A key acts with at most its user's current role: demoting a user takes their admin keys'
rights away at once (they cannot promote themselves back); promoting them gives them back."""

from __future__ import annotations

from typing import Any

from hub.core.apikeys import create_api_key
from hub.core.models import User
from hub.extensions import db
from hub.testing import ApiClient


def _second_admin(app: Any, client: Any, org: Any) -> ApiClient:
    """Another admin user with their own admin key (so demoting the first is allowed)."""
    with app.app_context():
        user = User(org_id=org.id, email="bea@acme.example", name="Bea", role="admin")
        db.session.add(user)
        db.session.flush()
        _, secret = create_api_key(db.session, org.id, "admin", "bea", user)
        db.session.commit()
    return ApiClient(client, secret)


def test_a_demoted_users_admin_key_acts_as_member(app, client, api, org):
    bea = _second_admin(app, client, org)
    user = f"/api/users/{org.admin.id}"
    assert bea.patch(user, json={"role": "member"}).status_code == 200

    me = api.get("/api/me").get_json()
    assert me["role"] == "member"
    refused = api.post("/api/clients", json={"name": "Globex"})
    assert refused.status_code == 403
    assert "is a member" in refused.get_json()["error"]["message"]
    assert api.patch(user, json={"role": "admin"}).status_code == 403  # no way back by itself
    assert api.get("/api/integrations/webhooks").status_code == 403
    assert api.get("/api/clients").status_code == 200  # still a member's rights

    assert bea.patch(user, json={"role": "admin"}).status_code == 200
    assert api.get("/api/me").get_json()["role"] == "admin"
    assert api.post("/api/clients", json={"name": "Globex"}).status_code == 201


def test_the_key_list_shows_the_role_a_key_acts_with(app, client, api, org):
    bea = _second_admin(app, client, org)
    bea.patch(f"/api/users/{org.admin.id}", json={"role": "member"})
    items = bea.get("/api/keys").get_json()["items"]
    ada = next(k for k in items if k["user"]["id"] == org.admin.id)
    assert (ada["role"], ada["effective_role"]) == ("admin", "member")


def test_a_plugin_route_sees_the_role_a_key_acts_with(app, client, api, org, register_plugin):
    """Plugins' admin routes and ``hub.current_caller().role`` use the same capped role."""
    from flask import Blueprint, jsonify

    import hub

    bp = Blueprint("whoami", __name__)

    @bp.get("/whoami")
    def whoami() -> Any:
        return jsonify({"role": hub.current_caller().role})

    @bp.post("/admin-only")
    @hub.admin_route
    def admin_only() -> Any:
        return jsonify({"ok": True})

    class Plugin:
        @hub.hookimpl
        def register_routes(self, register: Any) -> None:
            register(bp)

    register_plugin(Plugin(), "whoami")
    bea = _second_admin(app, client, org)
    bea.patch(f"/api/users/{org.admin.id}", json={"role": "member"})
    assert api.get("/api/integrations/whoami/whoami").get_json() == {"role": "member"}
    assert api.post("/api/integrations/whoami/admin-only").status_code == 403
    assert bea.post("/api/integrations/whoami/admin-only").status_code == 200
