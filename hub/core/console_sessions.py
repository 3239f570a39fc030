"""Console sign-in: one-time links and browser sessions, kept in Redis.

A session names the API key it acts with, so the browser never holds a key: the cookie
carries a random session id (only its SHA-256 is stored), and every change the browser asks
for must also carry the session's CSRF token in a header. A one-time link (``hub
admin-link``) is 256 bits, stored hashed for ten minutes and used up by GETDEL; redeeming
it mints an API key whose secret nobody ever sees, revoked when the session ends.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from dataclasses import asdict, dataclass

import redis

from hub.core import clock

COOKIE = "hub_session"
CSRF_HEADER = "X-CSRF-Token"
LINK_TTL_SECONDS = 600
SESSION_TTL_SECONDS = 12 * 3600
LINK_PREFIX = "hub:console:link:"
SESSION_PREFIX = "hub:console:session:"
LINK_KEY_NAME = "console session (one-time link)"


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class LinkGrant:
    """Who a one-time link signs in: an organization, maybe a user, with a role."""

    org_id: int
    user_id: int | None
    role: str


@dataclass(frozen=True)
class ConsoleSession:
    """A signed-in browser: the key it acts with and the token its changes must carry."""

    key_id: int
    org_id: int
    csrf_token: str
    created_at: float
    expires_at: float
    owns_key: bool  # minted for this session (a link): revoked when it ends


def create_link(client: redis.Redis, grant: LinkGrant) -> str:
    """A new single-use token for `grant`, valid LINK_TTL_SECONDS."""
    token = secrets.token_urlsafe(32)
    client.set(LINK_PREFIX + _digest(token), json.dumps(asdict(grant)), ex=LINK_TTL_SECONDS)
    return token


def redeem_link(client: redis.Redis, token: str) -> LinkGrant | None:
    """The link's grant, used up; None when unknown, expired or already used."""
    raw = client.getdel(LINK_PREFIX + _digest(token)) if token else None
    if raw is None:
        return None
    return LinkGrant(**json.loads(raw))


def create_session(
    client: redis.Redis, key_id: int, org_id: int, owns_key: bool
) -> tuple[str, ConsoleSession]:
    """A new session id (the cookie's value, never stored) and the session."""
    session_id = secrets.token_urlsafe(32)
    now = clock.now().timestamp()
    found = ConsoleSession(
        key_id, org_id, secrets.token_urlsafe(32), now, now + SESSION_TTL_SECONDS, owns_key
    )
    client.set(SESSION_PREFIX + _digest(session_id), json.dumps(asdict(found)),
               ex=SESSION_TTL_SECONDS)  # fmt: skip
    return session_id, found


def find_session(client: redis.Redis, session_id: str) -> ConsoleSession | None:
    raw = client.get(SESSION_PREFIX + _digest(session_id)) if session_id else None
    if raw is None:
        return None
    found = ConsoleSession(**json.loads(raw))
    return found if found.expires_at > clock.now().timestamp() else None


def end_session(client: redis.Redis, session_id: str) -> None:
    client.delete(SESSION_PREFIX + _digest(session_id))


def csrf_matches(found: ConsoleSession, sent: str | None) -> bool:
    return bool(sent) and hmac.compare_digest(found.csrf_token.encode(), (sent or "").encode())
