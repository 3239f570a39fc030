"""API-key authentication: the key decides the organization, its role, and its user."""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app, g, request

from hub.core.apikeys import find_api_key, needs_touch, touch
from hub.core.db import scope_to_org
from hub.core.models import ApiKey, Organization, User
from hub.errors import Forbidden, Unauthorized
from hub.extensions import db


@dataclass(frozen=True)
class Caller:
    org: Organization
    key: ApiKey
    user: User | None

    @property
    def role(self) -> str:
        return self.key.role


def _bearer() -> str:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("Send the API key as `Authorization: Bearer <key>`.")
    return token.strip()


def authenticate(role: str | None = None) -> Caller:
    """The caller of this request; Unauthorized or Forbidden otherwise."""
    key = find_api_key(db.session, _bearer())
    limiter = current_app.extensions.get("hub.limiter")
    if limiter is not None:  # per key: 429 with Retry-After past HUB_API_RATE_LIMIT
        limiter.check_api_key(key.id)
    org = db.session.get(Organization, key.org_id)
    if org is None:
        raise Unauthorized("Unknown API key.")
    if role == "admin" and key.role != "admin":
        raise Forbidden("This needs an admin API key.")
    if needs_touch(key):  # outside the request's transaction, never waiting for a lock
        touch(db.engine, key.id)
    scope_to_org(db.session, org.id)
    g.caller = Caller(org=org, key=key, user=key.user)
    return g.caller


def caller() -> Caller:
    return g.caller
