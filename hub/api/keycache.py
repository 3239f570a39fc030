"""A short-lived per-process cache of API-key lookups, cleared across processes at once.

Each request with a bearer key used to read its key (and user) and its organization from
the database. Now a web process keeps what it read for at most ``TTL`` seconds (1), keyed
by the secret's SHA-256, with the role the key acts with and the actor its events name;
a request's view that asks for the key, user or organization gets fresh copies attached
to the request's session (no query), and one that needs only the ids gets none.

How a revocation takes effect everywhere within a second:

- Any commit that changes or deletes an API key, a user (a key acts with at most its
  user's role) or an organization bumps a counter in Redis, ``GENERATION_KEY``
  (``INCR``, after the commit).
- Every request reads that counter in the same Redis round trip as its rate limit
  (``Limiter.admit``); a process that sees another value than the one its entries were
  read under drops them all and reads the database again. So the next request anywhere
  after a revocation's commit is refused.
- Should Redis be down or flushed, an entry still lives ``TTL`` seconds at most.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from dataclasses import dataclass
from typing import Any

import redis
from flask import current_app, has_app_context
from sqlalchemy import event
from sqlalchemy.orm import ORMExecuteState, Session, make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key

from hub.core.apikeys import effective_role
from hub.core.db import AnySession, after_commit
from hub.core.events import actor_of
from hub.core.models import ApiKey, Organization, User

log = logging.getLogger(__name__)
GENERATION_KEY = "hub:apikeys:generation"
TTL = 1.0
MAX_ENTRIES = 4096  # past it the cache starts over: a process's memory stays bounded
_WATCHED = (ApiKey, User, Organization)

Row = dict[str, Any]


def _columns(obj: Any) -> Row:
    return {attr.key: getattr(obj, attr.key) for attr in obj.__mapper__.column_attrs}


@dataclass
class Entry:
    """What a key's lookup found: column values, so each request gets its own objects."""

    key: Row
    user: Row | None
    org: Row
    generation: str | None
    born: float
    # what a request needs of them, worked out once from the same objects: most requests
    # then need no ORM object at all (see hub.api.auth.Caller)
    role: str = "member"
    actor: dict[str, Any] | None = None


class KeyCache:
    """Secret -> the key, its user and its organization, for at most `ttl` seconds."""

    def __init__(self, ttl: float = TTL) -> None:
        self.ttl = ttl
        self._entries: dict[bytes, Entry] = {}
        self._lock = threading.Lock()

    @staticmethod
    def _digest(secret: str) -> bytes:
        return hashlib.sha256(secret.encode()).digest()

    def get(self, secret: str) -> Entry | None:
        entry = self._entries.get(self._digest(secret))
        if entry is None or time.monotonic() - entry.born >= self.ttl:
            return None
        return entry

    def put(self, secret: str, key: ApiKey, org: Organization, generation: str | None) -> None:
        user = _columns(key.user) if key.user is not None else None
        entry = Entry(_columns(key), user, _columns(org), generation, time.monotonic())
        entry.role, entry.actor = effective_role(key), actor_of(key)
        with self._lock:
            if len(self._entries) >= MAX_ENTRIES:
                self._entries.clear()
            self._entries[self._digest(secret)] = entry

    def forget_older_than(self, generation: str | None) -> None:
        """Drop every entry read under another generation (a key, user or org changed)."""
        with self._lock:
            self._entries = {d: e for d, e in self._entries.items() if e.generation == generation}


def attach(session: AnySession, entry: Entry) -> tuple[ApiKey, Organization]:
    """The cached key (with its user) and organization as persistent objects of `session`,
    without a query; ones the session already holds are used as they are."""
    key = _attached(session, ApiKey, entry.key)
    if "user" not in key.__dict__:
        user = _attached(session, User, entry.user) if entry.user is not None else None
        set_committed_value(key, "user", user)
    return key, _attached(session, Organization, entry.org)


def _attached(session: AnySession, cls: type[Any], row: Row) -> Any:
    held = session.identity_map.get(identity_key(cls, row["id"]))
    if held is not None:
        return held
    obj = cls(**row)
    make_transient_to_detached(obj)  # as if loaded: no pending change
    session.add(obj)
    return obj


def cache_of_app() -> KeyCache | None:
    return current_app.extensions.get("hub.keycache")


def bump_generation(client: redis.Redis) -> None:
    """Every process's cached lookups are stale from now on."""
    try:
        client.incr(GENERATION_KEY)
    except redis.RedisError as exc:  # entries still expire after TTL
        log.warning("API key cache not cleared across processes: %s", exc)


def _bump_after_commit(session: Session) -> None:
    if not has_app_context() or "hub.keycache" not in current_app.extensions:
        return
    client = current_app.extensions["hub.redis"]
    after_commit(session, lambda: bump_generation(client), key=GENERATION_KEY)


@event.listens_for(Session, "after_flush")
def _watch_flush(session: Session, _context: Any) -> None:
    changed = (*session.dirty, *session.deleted)
    if any(isinstance(obj, _WATCHED) and session.is_modified(obj) for obj in changed) or any(
        isinstance(obj, _WATCHED) for obj in session.deleted
    ):
        _bump_after_commit(session)


@event.listens_for(Session, "do_orm_execute")
def _watch_bulk(state: ORMExecuteState) -> None:
    mapper = state.bind_mapper
    if (state.is_update or state.is_delete) and mapper is not None and mapper.class_ in _WATCHED:
        _bump_after_commit(state.session)
