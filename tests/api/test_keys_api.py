"""API keys through the API: an admin lists, creates (the secret shown once) and revokes them;
a revoked key is refused at once by every process; bad input changes nothing."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from hub.core.models import ApiKey
from hub.extensions import db
from hub.testing import ApiClient

KEYS = "/api/keys"


def _count(app: Any) -> int:
    with app.app_context():
        return int(db.session.scalar(select(func.count()).select_from(ApiKey)) or 0)


def _create(api: ApiClient, **body: Any) -> dict[str, Any]:
    response = api.post(KEYS, json=body)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def test_the_list_shows_every_key_but_no_secret(api, org):
    items = api.get(KEYS).get_json()["items"]
    assert [(k["role"], k["effective_role"], k["user"]["email"]) for k in items] == [
        ("admin", "admin", org.admin.email),
        ("member", "member", f"member@{org.org.slug}.example"),
    ]
    assert all(k["prefix"].startswith("mhk_") and k["revoked_at"] is None for k in items)
    assert "key" not in items[0] and "key_hash" not in items[0]
    assert org.admin_key not in api.get(KEYS).get_data(as_text=True)


def test_a_new_key_is_shown_once_and_works(client, api, org):
    created = _create(api, name="ci", role="member")
    assert created["key"].startswith(created["prefix"] + "_")
    assert (created["name"], created["role"], created["user"]["id"]) == (
        "ci",
        "member",
        org.admin.id,
    )
    shown = api.get(f"{KEYS}/{created['id']}").get_json()
    assert "key" not in shown and shown["prefix"] == created["prefix"]
    me = ApiClient(client, created["key"]).get("/api/me").get_json()
    assert (me["role"], me["user"]["id"]) == ("member", org.admin.id)


def test_a_key_may_belong_to_no_user_or_to_another(client, api, org):
    service = _create(api, name="script", role="admin", user_id=None)
    assert service["user"] is None
    assert ApiClient(client, service["key"]).get("/api/me").get_json()["role"] == "admin"
    users = api.get("/api/users").get_json()["items"]
    member = next(u for u in users if u["role"] == "member")
    theirs = _create(api, user_id=member["id"])
    assert (theirs["user"]["id"], theirs["role"]) == (member["id"], "member")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"role": "owner"}, "role"),
        ({"name": "x" * 201}, "name"),
        ({"name": "a\x00b"}, "name"),
        ({"user_id": 0}, "user_id"),
        ({"user_id": "2"}, "user_id"),
        ({"user_id": 999999}, "user_id"),
        ({"key": "mhk_000000000000_chosen-by-me-123456789"}, "key"),
        ({"prefix": "mhk_000000000000"}, "prefix"),
    ],
)
def test_bad_input_is_a_400_naming_the_field_and_creates_nothing(app, api, body, field):
    before = _count(app)
    response = api.post(KEYS, json=body)
    assert response.status_code == 400, response.get_json()
    assert field in response.get_json()["error"]["details"]
    assert _count(app) == before


def test_an_admin_key_for_a_member_is_refused(app, api):
    member = next(u for u in api.get("/api/users").get_json()["items"] if u["role"] == "member")
    before = _count(app)
    response = api.post(KEYS, json={"role": "admin", "user_id": member["id"]})
    assert response.status_code == 400
    assert "role" in response.get_json()["error"]["details"]
    assert _count(app) == before


def test_another_organizations_user_is_no_reference(app, api, other_org):
    response = api.post(KEYS, json={"user_id": other_org.admin.id})
    assert response.status_code == 400
    assert "user_id" in response.get_json()["error"]["details"]


def test_members_may_not_see_or_manage_keys(app, api, member_api):
    key_id = api.get(KEYS).get_json()["items"][0]["id"]
    before = _count(app)
    assert member_api.get(KEYS).status_code == 403
    assert member_api.post(KEYS, json={}).status_code == 403
    assert member_api.get(f"{KEYS}/{key_id}").status_code == 403
    assert member_api.delete(f"{KEYS}/{key_id}").status_code == 403
    assert _count(app) == before
    assert api.get(f"{KEYS}/{key_id}").get_json()["revoked_at"] is None


def test_revoking_takes_effect_at_once_in_every_process(client, api, make_app):
    created = _create(api, name="leaked")
    other_process = ApiClient(make_app().test_client(), created["key"])
    assert other_process.get("/api/me").status_code == 200
    assert api.delete(f"{KEYS}/{created['id']}").status_code == 204
    refused = other_process.get("/api/me")
    assert refused.status_code == 401
    assert "revoked" in refused.get_json()["error"]["message"]
    assert ApiClient(client, created["key"]).get("/api/clients").status_code == 401
    revoked_at = api.get(f"{KEYS}/{created['id']}").get_json()["revoked_at"]
    assert revoked_at is not None
    assert api.delete(f"{KEYS}/{created['id']}").status_code == 204  # again: nothing changes
    assert api.get(f"{KEYS}/{created['id']}").get_json()["revoked_at"] == revoked_at


def test_another_organizations_key_cannot_be_revoked(api, other_api, other_org):
    theirs = other_api.get(KEYS).get_json()["items"][0]
    assert api.delete(f"{KEYS}/{theirs['id']}").status_code == 404
    assert other_api.get("/api/me").status_code == 200


def test_the_openapi_document_describes_the_keys_routes(client):
    spec = client.get("/api/openapi.json").get_json()
    assert {"get", "post"} <= set(spec["paths"]["/api/keys"])
    assert {"get", "delete"} <= set(spec["paths"]["/api/keys/{key_id}"])
    created = spec["paths"]["/api/keys"]["post"]["responses"]["201"]
    ref = created["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
    assert "key" in spec["components"]["schemas"][ref]["properties"]
