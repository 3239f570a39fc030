"""API keys: shown once, stored as SHA-256, found by their prefix, revoked, never deleted.

`find_api_key` is the one place a request's key is looked up. Web processes cache its
answers for a second (hub/api/keycache.py); any committed change to a key, a user (a key
acts with at most its user's current role) or an organization clears every process's cache.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import secrets
from datetime import datetime, timedelta

from sqlalchemy import Engine, or_, select, update
from sqlalchemy.exc import SQLAlchemyError

from hub.core import clock
from hub.core.db import AnySession, no_lock_wait
from hub.core.models import ApiKey, User
from hub.errors import Unauthorized, ValidationError

log = logging.getLogger(__name__)
KEY_PREFIX = "mhk"
TOUCH_EVERY = timedelta(minutes=5)
# What create_api_key makes: the prefix is looked up, so nothing else may reach the query.
_KEY_SHAPE = re.compile(rf"({KEY_PREFIX}_[0-9a-f]{{12}})_[A-Za-z0-9_-]{{20,100}}")


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_api_key(
    session: AnySession,
    org_id: int,
    role: str = "admin",
    name: str = "",
    user: User | None = None,
) -> tuple[ApiKey, str]:
    """A new key and its full secret, which is never stored and cannot be shown again."""
    if role not in ("admin", "member"):
        raise ValidationError("Invalid API key.", {"role": ["Must be admin or member."]})
    if user is not None and role == "admin" and user.role != "admin":
        raise ValidationError(
            "A key cannot have more rights than its user.",
            {"role": [f"{user.email} is a member: an admin key for them would act as member."]},
        )
    prefix = f"{KEY_PREFIX}_{secrets.token_hex(6)}"
    secret = f"{prefix}_{secrets.token_urlsafe(32)}"
    key = ApiKey(
        org_id=org_id,
        role=role,
        name=name,
        prefix=prefix,
        key_hash=_hash(secret),
        user_id=user.id if user else None,
    )
    session.add(key)
    session.flush()
    return key, secret


def find_api_key(session: AnySession, secret: str) -> ApiKey:
    """The live key whose secret this is, or Unauthorized."""
    shape = _KEY_SHAPE.fullmatch(secret)
    if shape is None:
        raise Unauthorized("Malformed API key.")
    key = session.scalar(select(ApiKey).where(ApiKey.prefix == shape.group(1)))
    if key is None or not hmac.compare_digest(key.key_hash, _hash(secret)):
        raise Unauthorized("Unknown API key.")
    if key.revoked_at is not None:
        raise Unauthorized("This API key was revoked.")
    return key


def find_live_key(session: AnySession, key_id: int) -> ApiKey:
    """The key a console session acts with, while it is not revoked; Unauthorized otherwise."""
    key = session.get(ApiKey, key_id)
    if key is None or key.revoked_at is not None:
        raise Unauthorized("The API key of this session was revoked; sign in again.")
    return key


def effective_role(key: ApiKey) -> str:
    """The role a key acts with: its own, at most its user's current one (a demoted user's
    admin key acts as member; promoted again, it is admin again)."""
    if key.user is not None and key.user.role != "admin":
        return "member"
    return key.role


def list_api_keys(session: AnySession, org_id: int) -> list[ApiKey]:
    """Every key of the organization, revoked ones included, oldest first."""
    return list(session.scalars(select(ApiKey).where(ApiKey.org_id == org_id).order_by(ApiKey.id)))


def find_by_prefix(session: AnySession, prefix: str) -> ApiKey | None:
    """The key with this prefix (`mhk_` and 12 hex digits, as `hub apikey list` shows it);
    the whole key works too."""
    wanted = prefix.strip()[: len(KEY_PREFIX) + 13]
    return session.scalar(select(ApiKey).where(ApiKey.prefix == wanted))


def revoke_api_key(key: ApiKey) -> bool:
    """Revoke `key` from the caller's commit on: the commit clears every web process's cached
    key lookups (hub/api/keycache.py), so it is refused at once everywhere. False if it
    already was."""
    if key.revoked_at is not None:
        return False
    key.revoked_at = clock.now()
    return True


def needs_touch(key: ApiKey) -> bool:
    return touch_due(key.last_used_at)


def touch_due(last_used_at: datetime | None) -> bool:
    """Is a key last used at `last_used_at` due to have its use recorded again?"""
    return last_used_at is None or clock.now() - last_used_at > TOUCH_EVERY


def touch(engine: Engine, key_id: int) -> bool:
    """Record that the key was used, at most every TOUCH_EVERY; whether it was recorded.

    Best effort, in a short transaction of its own that never waits for a lock: when another
    transaction holds one (SQLite's write lock, the key's row), the touch is skipped and a
    later use records it. A request is never slowed down or failed by it.
    """
    now = clock.now()
    stale = or_(ApiKey.last_used_at.is_(None), ApiKey.last_used_at < now - TOUCH_EVERY)
    stmt = update(ApiKey).where(ApiKey.id == key_id, stale).values(last_used_at=now)
    try:
        with engine.connect() as conn, no_lock_wait(conn):
            conn.execute(stmt)
            conn.commit()
    except SQLAlchemyError as exc:
        log.debug("last use of API key %s not recorded now: %s", key_id, exc)
        return False
    return True
