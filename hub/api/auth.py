"""API-key authentication: the key decides the organization, its role, and its user."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import current_app, g, request
from sqlalchemy.orm.attributes import set_committed_value

from hub.api.keycache import GENERATION_KEY, Entry, attach, cache_of_app
from hub.core import clock, console_sessions, events
from hub.core.apikeys import (
    effective_role,
    find_api_key,
    find_live_key,
    needs_touch,
    touch,
    touch_due,
)
from hub.core.db import scope_to_org
from hub.core.models import ApiKey, Organization, User
from hub.core.ratelimit import Limiter
from hub.errors import Forbidden, Unauthorized
from hub.extensions import db, get_redis

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


class Caller:
    """Who calls: the key's organization, the key, its user, and the role it acts with.

    From the key cache, the key, user and organization become objects of the request's
    session only when a view first asks for one of them: most views need the
    organization's id alone, and building and attaching three ORM objects cost about as
    much as the request's Redis round trip.
    """

    def __init__(
        self,
        org_id: int,
        role: str,
        load: Callable[[], tuple[ApiKey, Organization]],
        actor: dict[str, Any] | None = None,
    ):
        self.org_id, self.role = org_id, role
        self._load, self._actor = load, actor
        self._loaded: tuple[ApiKey, Organization] | None = None

    @classmethod
    def of(cls, key: ApiKey, org: Organization) -> Caller:
        found = cls(org.id, effective_role(key), lambda: (key, org))
        found._loaded = (key, org)
        return found

    @property
    def actor(self) -> dict[str, Any]:
        """Who the request's events name as their actor (hub.core.events.actor_of)."""
        if self._actor is not None:  # a copy: each event's payload holds its own
            return dict(self._actor)
        return events.actor_of(self.key)

    def _objects(self) -> tuple[ApiKey, Organization]:
        if self._loaded is None:
            self._loaded = self._load()
        return self._loaded

    @property
    def org(self) -> Organization:
        return self._objects()[1]

    @property
    def key(self) -> ApiKey:
        return self._objects()[0]

    @property
    def user(self) -> User | None:
        return self.key.user


def _bearer() -> str:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("Send the API key as `Authorization: Bearer <key>`.")
    return token.strip()


def _key_of_request() -> ApiKey:
    """The bearer key; without an Authorization header, the console session's key."""
    session_id = request.cookies.get(console_sessions.COOKIE)
    if "Authorization" in request.headers or not session_id:
        return find_api_key(db.session, _bearer())
    found = console_sessions.find_session(get_redis(), session_id)
    if found is None:
        raise Unauthorized("This console session has ended; sign in again.")
    if request.method not in SAFE_METHODS and not console_sessions.csrf_matches(
        found, request.headers.get(console_sessions.CSRF_HEADER)
    ):
        raise Forbidden(
            f"A change from a console session must carry its CSRF token in "
            f"{console_sessions.CSRF_HEADER}."
        )
    g.console_session = (session_id, found)
    return find_live_key(db.session, found.key_id)


def console_session() -> tuple[str, console_sessions.ConsoleSession] | None:
    """The console session this request came with (its id and record), if any."""
    return g.get("console_session")


def _limiter() -> Limiter | None:
    return current_app.extensions.get("hub.limiter")


def client_address() -> str:
    """The address the request came from: the connecting peer, or with
    ``HUB_TRUSTED_PROXIES`` = n the address the n-th proxy from us saw in X-Forwarded-For."""
    proxies = int(current_app.config.get("HUB_TRUSTED_PROXIES") or 0)
    forwarded = [a.strip() for a in request.headers.get("X-Forwarded-For", "").split(",")]
    if proxies and len(forwarded) >= proxies and forwarded[-proxies]:
        return forwarded[-proxies]
    return request.remote_addr or "unknown"


def refuse_blocked_client() -> None:
    """429 with Retry-After while this client address is past ``HUB_AUTH_FAIL_LIMIT``: checked
    before a key is looked up or a public route verifies its signature."""
    limiter = _limiter()
    if limiter is not None:
        limiter.check_client(client_address())


def count_failed_authentication() -> None:
    """A request was answered 401 (a missing, malformed, unknown or revoked key; a public
    route's bad signature): it counts against its client address."""
    limiter = _limiter()
    if limiter is not None:
        limiter.count_auth_failure(client_address())


def _cached_caller() -> Caller | None:
    """A bearer key's caller through the key cache (hub/api/keycache.py): one Redis round
    trip for the rate limits and the cache's generation, and a query only on a miss.
    None when this request is not one for the cache (a console session, no limiter)."""
    limiter, cache = _limiter(), cache_of_app()
    if limiter is None or cache is None or "Authorization" not in request.headers:
        return None
    try:
        secret = _bearer()
    except Unauthorized:
        limiter.check_client(client_address())  # a blocked address hears 429 first
        raise
    entry = cache.get(secret)
    generation = limiter.admit(client_address(), entry.key["id"] if entry else None, GENERATION_KEY)
    if entry is not None and entry.generation == generation:
        return _caller_of_entry(entry)
    cache.forget_older_than(generation)
    key = find_api_key(db.session, secret)
    if entry is None:  # a stale entry's key had its call taken by `admit` already
        limiter.check_api_key(key.id)
    org = _org_of(key)
    if needs_touch(key) and touch(db.engine, key.id):  # its own transaction, never waiting
        set_committed_value(key, "last_used_at", clock.now())
    cache.put(secret, key, org, generation)
    return Caller.of(key, org)


def _caller_of_entry(entry: Entry) -> Caller:
    """The caller a fresh cache entry describes; its objects are attached when asked for."""
    if touch_due(entry.key["last_used_at"]) and touch(db.engine, entry.key["id"]):
        entry.key["last_used_at"] = clock.now()
    return Caller(entry.org["id"], entry.role, lambda: attach(db.session, entry), entry.actor)


def _org_of(key: ApiKey) -> Organization:
    org = db.session.get(Organization, key.org_id)
    if org is None:
        raise Unauthorized("Unknown API key.")
    return org


def authenticate(role: str | None = None) -> Caller:
    """The caller of this request; Unauthorized or Forbidden otherwise."""
    found = _cached_caller()
    if found is None:
        refuse_blocked_client()
        key = _key_of_request()
        limiter = _limiter()
        if limiter is not None:  # per key: 429 with Retry-After past HUB_API_RATE_LIMIT
            limiter.check_api_key(key.id)
        org = _org_of(key)
        if needs_touch(key):  # outside the request's transaction, never waiting for a lock
            touch(db.engine, key.id)
        found = Caller.of(key, org)
    if role == "admin" and found.role != "admin":
        raise Forbidden(_not_admin(found))
    scope_to_org(db.session, found.org_id)
    events.act_as(db.session, found.actor)  # the request's events name who acted
    g.caller = found
    return found


def _not_admin(found: Caller) -> str:
    if found.key.role == "admin" and found.user is not None:
        return f"This needs an admin API key: this key's user ({found.user.email}) is a member."
    return "This needs an admin API key."


def caller() -> Caller:
    return g.caller
