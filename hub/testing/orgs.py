"""Organizations made for a test, and the API as their admin or member."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from hub.core.apikeys import create_api_key
from hub.core.models import Organization, User
from hub.core.orgs import create_org
from hub.extensions import db


@dataclass
class OrgHandle:
    """An organization made for a test, with an admin user and keys."""

    org: Organization
    admin: User
    admin_key: str
    member_key: str

    @property
    def id(self) -> int:
        return self.org.id


def make_org(app: Flask, name: str, timezone: str = "UTC") -> OrgHandle:
    with app.app_context():
        org = create_org(db.session, name, timezone)
        admin = User(
            org_id=org.id, email=f"admin@{org.slug}.example", name="Ada Admin", role="admin"
        )
        member = User(org_id=org.id, email=f"member@{org.slug}.example", name="Max Member")
        db.session.add_all([admin, member])
        db.session.flush()
        _, admin_key = create_api_key(db.session, org.id, "admin", "test admin", admin)
        _, member_key = create_api_key(db.session, org.id, "member", "test member", member)
        db.session.commit()
        return OrgHandle(org, admin, admin_key, member_key)


@pytest.fixture
def org(app: Flask) -> OrgHandle:
    return make_org(app, "Acme Studio", "Europe/London")


@pytest.fixture
def other_org(app: Flask) -> OrgHandle:
    return make_org(app, "Rival Agency", "America/New_York")


class ApiClient:
    """The test client with an API key in every request."""

    def __init__(self, client: FlaskClient, key: str) -> None:
        self.client = client
        self.key = key

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        headers = {"Authorization": f"Bearer {self.key}", **kwargs.pop("headers", {})}
        return self.client.open(path, method=method, headers=headers, **kwargs)

    def get(self, path: str, **kwargs: Any) -> Any:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> Any:
        return self.request("POST", path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> Any:
        return self.request("PUT", path, **kwargs)

    def patch(self, path: str, **kwargs: Any) -> Any:
        return self.request("PATCH", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> Any:
        return self.request("DELETE", path, **kwargs)


@pytest.fixture
def api(client: FlaskClient, org: OrgHandle) -> ApiClient:
    """The API as the test organization's admin."""
    return ApiClient(client, org.admin_key)


@pytest.fixture
def member_api(client: FlaskClient, org: OrgHandle) -> ApiClient:
    return ApiClient(client, org.member_key)


@pytest.fixture
def other_api(client: FlaskClient, other_org: OrgHandle) -> ApiClient:
    """The API as another organization's admin."""
    return ApiClient(client, other_org.admin_key)
