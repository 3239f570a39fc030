"""An admin cannot lock the organization out: deleting one's own user, or deleting or demoting
the last admin, is a 409 that says why, and changes nothing."""

from __future__ import annotations

import threading
import time
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hub.core import people
from hub.core.apikeys import create_api_key
from hub.core.models import ApiKey, Event, User
from hub.extensions import db
from hub.testing import ApiClient


def _service_key(app: Any, client: Any, org: Any) -> ApiClient:
    """An admin key tied to no user: not the deleted user's own key."""
    with app.app_context():
        _, secret = create_api_key(db.session, org.id, "admin", "script")
        db.session.commit()
    return ApiClient(client, secret)


def _admin(api: ApiClient, email: str) -> int:
    response = api.post("/api/users", json={"email": email, "name": email, "role": "admin"})
    assert response.status_code == 201, response.get_json()
    return int(response.get_json()["id"])


def _state(app: Any) -> tuple[int | None, ...]:
    """Users, keys and events: what a refused request must leave alone."""
    with app.app_context():
        tables = (User, ApiKey, Event)
        return tuple(db.session.scalar(select(func.count()).select_from(t)) for t in tables)


def test_deleting_ones_own_user_is_refused(app, api, org):
    _admin(api, "bea@acme.example")  # not the last admin: only "own user" stands in the way
    before = _state(app)
    response = api.delete(f"/api/users/{org.admin.id}")
    assert response.status_code == 409
    error = response.get_json()["error"]
    assert "your own user" in error["message"] and "user_id" in error["details"]
    assert _state(app) == before
    assert api.get("/api/me").status_code == 200


def test_deleting_the_last_admin_is_refused(app, client, api, org):
    script = _service_key(app, client, org)
    before = _state(app)
    response = script.delete(f"/api/users/{org.admin.id}")
    assert response.status_code == 409
    assert "last admin" in response.get_json()["error"]["message"]
    assert _state(app) == before
    assert api.get("/api/me").get_json()["role"] == "admin"


def test_with_another_admin_the_user_and_their_keys_go(app, client, api, org):
    script = _service_key(app, client, org)
    _admin(api, "bea@acme.example")
    assert script.delete(f"/api/users/{org.admin.id}").status_code == 204
    assert api.get("/api/me").status_code == 401  # their keys went with them


def test_demoting_the_last_admin_is_refused(app, api, org):
    before = _state(app)
    response = api.patch(f"/api/users/{org.admin.id}", json={"role": "member"})
    assert response.status_code == 409
    assert "last admin" in response.get_json()["error"]["message"]
    assert _state(app) == before
    assert api.get(f"/api/users/{org.admin.id}").get_json()["role"] == "admin"
    assert api.patch(f"/api/users/{org.admin.id}", json={"name": "Ada A."}).status_code == 200


def test_removing_the_last_two_admins_at_once_keeps_one(app, client, api, org):
    """One transaction removes Bea and has not committed yet while a request removes Ada:
    the request waits for it and then sees Ada is the last admin (the admins' rows are
    locked before counting; SQLite's write lock serialises the two as well)."""
    script = _service_key(app, client, org)
    bea = _admin(api, "bea@acme.example")
    answers: list[int] = []
    request = threading.Thread(
        target=lambda: answers.append(script.delete(f"/api/users/{org.admin.id}").status_code)
    )
    with app.app_context():
        other = Session(bind=db.engine)
        try:
            people.delete_user(other, org.id, bea)  # holds the admins' rows until it commits
            request.start()
            time.sleep(1.0)
            waited = list(answers)
            other.commit()
        finally:
            other.close()
        request.join(timeout=30)
    assert waited == []  # the request waited for the other transaction
    assert answers == [409]
    emails = [u["email"] for u in api.get("/api/users").get_json()["items"]]
    assert org.admin.email in emails and "bea@acme.example" not in emails
