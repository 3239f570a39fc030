"""API-key authentication: the key decides the organization, its role, and its user."""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app, g, request
from sqlalchemy import update

from hub.core import clock
from hub.core.apikeys import effective_role, find_api_key, needs_touch
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
        return effective_role(self.key)


def _bearer() -> str:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("Send the API key as `Authorization: Bearer <key>`.")
    return token.strip()


def _touch(key: ApiKey) -> None:
    """Record use, at most every few minutes: inside a write request's own transaction,
    or in a short separate one for a read (SQLite readers must not upgrade to writers)."""
    stmt = update(ApiKey).where(ApiKey.id == key.id).values(last_used_at=clock.now())
    if request.method in ("GET", "HEAD"):
        with db.engine.begin() as conn:
            conn.execute(stmt)
    else:
        db.session.execute(stmt)


def authenticate(role: str | None = None) -> Caller:
    """The caller of this request; Unauthorized or Forbidden otherwise."""
    key = find_api_key(db.session, _bearer())
    limiter = current_app.extensions.get("hub.limiter")
    if limiter is not None:  # per key: 429 with Retry-After past HUB_API_RATE_LIMIT
        limiter.check_api_key(key.id)
    org = db.session.get(Organization, key.org_id)
    if org is None:
        raise Unauthorized("Unknown API key.")
    found = Caller(org=org, key=key, user=key.user)
    if role == "admin" and found.role != "admin":
        raise Forbidden(_not_admin(found))
    if needs_touch(key):
        _touch(key)
    scope_to_org(db.session, org.id)
    g.caller = found
    return found


def _not_admin(found: Caller) -> str:
    if found.key.role == "admin" and found.user is not None:
        return f"This needs an admin API key: this key's user ({found.user.email}) is a member."
    return "This needs an admin API key."


def caller() -> Caller:
    return g.caller
