"""The token vault: OAuth tokens encrypted on the integration row, refreshed ahead of expiry.

Every token field is a secret ``oauth.<field>`` (AES-GCM, bound to its org, integration
and field); only the expiry is a plain column. A refresh is single-flight across
processes: a Redis lock per integration, then a re-read of the row, so callers that
queued behind the lock find the new token instead of refreshing again.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any, NoReturn

import redis
from redis.exceptions import LockError
from sqlalchemy.orm import Session, scoped_session
from sqlalchemy.orm.attributes import set_committed_value

from hub.core import clock, events
from hub.core.connections.integrations import render_event
from hub.core.connections.oauth import TokenRefused, with_expiry
from hub.core.crypto import KeyRing, associated_data
from hub.core.db import AnySession
from hub.core.models import Integration
from hub.errors import NeedsReauth, PermanentError, RateLimited, ServiceUnavailable
from hub.provider import Provider, Token

log = logging.getLogger(__name__)

PREFIX = "oauth."
ACCESS = "oauth.access_token"
REFRESH = "oauth.refresh_token"
SCOPE = "oauth.scope"
TOKEN_TYPE = "oauth.token_type"
STANDARD = (ACCESS, REFRESH, SCOPE, TOKEN_TYPE)
REFRESH_FAILURES_KEY = "hub:metrics:token_refresh_failures"  # "<plugin>|<reason>" -> count
# what /metrics calls a failed refresh; anything else (a plugin's bug, a bad client) is "error"
REFRESH_FAILURE_REASONS: tuple[tuple[type[Exception], str], ...] = (
    (NeedsReauth, "refused"),
    (RateLimited, "rate_limited"),
    (ServiceUnavailable, "unavailable"),
)
LOCK_TIMEOUT_SECONDS = 60  # longer than a token request can take (HUB_HTTP_TIMEOUT)
LOCK_WAIT_SECONDS = 45
REAUTH_ERRORS = frozenset(
    {
        "invalid_grant",
        "invalid_token",
        "invalid_refresh_token",
        "token_revoked",
        "token_expired",
        "unauthorized_client",
        "access_denied",
    }
)


def is_connected(row: Integration) -> bool:
    return ACCESS in (row.secrets or {})


def _decrypt(keyring: KeyRing, row: Integration, field: str) -> str | None:
    stored = (row.secrets or {}).get(field)
    if stored is None:
        return None
    return keyring.decrypt(stored, associated_data(row.org_id, row.id, field))


def load_token(keyring: KeyRing, row: Integration) -> Token | None:
    """The stored token set, decrypted; None when the integration is not connected."""
    access = _decrypt(keyring, row, ACCESS)
    if access is None:
        return None
    extra_fields = [k for k in (row.secrets or {}) if k.startswith(PREFIX) and k not in STANDARD]
    return Token(
        access_token=access,
        refresh_token=_decrypt(keyring, row, REFRESH),
        expires_at=row.token_expires_at,
        scope=_decrypt(keyring, row, SCOPE),
        token_type=_decrypt(keyring, row, TOKEN_TYPE) or "bearer",
        external_account_id=row.external_account_id,
        extra={k.removeprefix(PREFIX): _decrypt(keyring, row, k) for k in extra_fields},
    )


def _plain(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))


def store_token(keyring: KeyRing, row: Integration, token: Token) -> None:
    """Replace the row's token fields with ``token``'s, encrypted (the row must have an id)."""
    fields = {ACCESS: token.access_token, REFRESH: token.refresh_token, SCOPE: token.scope}
    fields[TOKEN_TYPE] = token.token_type
    fields.update({PREFIX + k: _plain(v) for k, v in token.extra.items() if v is not None})
    kept = {k: v for k, v in (row.secrets or {}).items() if not k.startswith(PREFIX)}
    for field, value in fields.items():
        if value is not None:
            aad = associated_data(row.org_id, row.id, field)
            kept[field] = keyring.encrypt(value, aad)
    row.secrets = kept  # a new dict, so the JSON column is written
    row.token_expires_at = token.expires_at
    if token.external_account_id:
        row.external_account_id = token.external_account_id


def merge(old: Token, new: Token) -> Token:
    """A refreshed token keeps what the provider did not send again (refresh token, extras)."""
    return replace(
        new,
        refresh_token=new.refresh_token or old.refresh_token,
        scope=new.scope or old.scope,
        external_account_id=new.external_account_id or old.external_account_id,
        extra={**old.extra, **new.extra},
    )


def margin_of(provider: Provider) -> timedelta:
    seconds = provider.oauth2.refresh_margin_seconds if provider.oauth2 else 300
    return timedelta(seconds=seconds)


def expires_within(token: Token, window: timedelta) -> bool:
    return token.expires_at is not None and token.expires_at <= clock.now() + window


def mark_needs_reauth(session: AnySession, row: Integration, reason: str) -> bool:
    """Set ``needs_reauth`` and record its event, once; whether it changed anything."""
    session.refresh(row, ["enabled", "status"], with_for_update=True)  # another may have
    if not row.enabled or row.status == "needs_reauth":
        return False
    row.status = "needs_reauth"
    row.last_error = reason[:2000]
    row.last_error_at = clock.now()
    payload = {**render_event(row), "reason": row.last_error}
    events.record(session, row.org_id, "integration.needs_reauth", payload)
    return True


@dataclass
class IntegrationTokens:
    """One integration's tokens, as a plugin context reaches them (``ctx.access_token``,
    ``ctx.http``'s answer to a 401): built beside the context by
    ``hub/core/connections/context.py``, which hands in the plugins' ``refresh_token`` hook
    as `refresh_hook`."""

    db: AnySession
    """The context's session (``ctx.db``); a refresh commits in a session of its own."""
    row: Integration
    """The integration row in that session: a refreshed token is shown to it."""
    keyring: KeyRing
    provider: Provider
    redis: redis.Redis | None
    refresh_hook: Callable[[Token], Token | None]
    """A new token for the stored one (None: it cannot be refreshed)."""


def access_token(vault: IntegrationTokens, rejected: str | None = None) -> str:
    """A valid access token for ``vault``'s integration, refreshed when about to expire, or
    when the provider just refused ``rejected`` as expired (unless another process has
    already replaced it)."""
    row = vault.row
    token = load_token(vault.keyring, row)
    if token is None or row.status == "needs_reauth":
        raise NeedsReauth(f"{vault.provider.title} is not connected; an admin must connect it.")
    if rejected is not None:
        return refresh(vault, None, rejected).access_token
    if not expires_within(token, margin_of(vault.provider)):
        return token.access_token
    return refresh(vault, margin_of(vault.provider)).access_token


def renew_rejected(vault: IntegrationTokens, rejected: str) -> str | None:
    """After the provider answered 401 to the access token `rejected`: a newer one (another
    process's refresh, or one made now), or None when the token cannot be refreshed."""
    fresh = refresh(vault, rejected=rejected).access_token
    return fresh if fresh != rejected else None


def _still_valid(token: Token, window: timedelta | None, rejected: str | None) -> bool:
    if rejected is not None:
        return token.access_token != rejected  # another process refreshed it meanwhile
    return window is not None and not expires_within(token, window)


def refresh(
    vault: IntegrationTokens, window: timedelta | None = None, rejected: str | None = None
) -> Token:
    """Refresh unless the stored token (re-read under the lock) is valid beyond ``window``
    or is no longer the ``rejected`` one.

    ``window=None`` (and no ``rejected``) forces a refresh. Raises NeedsReauth (and marks
    the integration) when the provider refuses the grant; ServiceUnavailable or
    RateLimited mean try again later.
    """
    _release_sqlite_reader(vault)
    with _refresh_lock(vault), _own_session(vault) as session:
        row = session.get(Integration, vault.row.id, populate_existing=True)
        token = load_token(vault.keyring, row) if row is not None else None
        if row is None or token is None or row.status == "needs_reauth":
            raise NeedsReauth(f"{vault.provider.title} is not connected; an admin must connect it.")
        if _still_valid(token, window, rejected):
            _adopt(vault, row)
            return token
        try:
            fresh = _refreshed(vault, session, row, token)
        except Exception as exc:
            count_refresh_failure(vault.redis, vault.provider.name, exc)
            raise
        store_token(vault.keyring, row, fresh)
        session.commit()
        _adopt(vault, row)
        return fresh


def count_refresh_failure(client: redis.Redis | None, plugin: str, exc: Exception) -> None:
    """One more refresh the provider refused or could not answer, for /metrics."""
    reason = "error"
    for kind, name in REFRESH_FAILURE_REASONS:
        if isinstance(exc, kind):
            reason = name
            break
    try:
        if client is not None:
            client.hincrby(REFRESH_FAILURES_KEY, f"{plugin}|{reason}", 1)
    except redis.RedisError as err:
        log.warning("token refresh failure not counted: %s", err)


def _refreshed(vault: IntegrationTokens, session: Session, row: Integration, token: Token) -> Token:
    """Ask the plugins for a new token; a refusal marks the integration needs_reauth."""

    try:
        new = _call_refresh_hook(vault, token)
    except TokenRefused as exc:
        if exc.error not in REAUTH_ERRORS:
            raise
        _reauth(session, row, f"The provider refused the refresh token ({exc.error}).")
    except NeedsReauth as exc:
        _reauth(session, row, exc.message)
    if new is None:
        if token.expires_at is not None and token.expires_at <= clock.now():
            _reauth(session, row, "The token expired and cannot be refreshed.")
        return token
    return merge(token, with_expiry(new))


def _reauth(session: Session, row: Integration, reason: str) -> NoReturn:
    mark_needs_reauth(session, row, reason)
    session.commit()
    raise NeedsReauth(reason)


def _call_refresh_hook(vault: IntegrationTokens, token: Token) -> Token | None:
    """The integration's own plugin answers ``refresh_token`` first, then the built-in one."""
    try:
        return vault.refresh_hook(token)
    except TypeError as exc:  # a plugin returned something other than a Token
        raise PermanentError(str(exc)) from exc


@contextmanager
def _refresh_lock(vault: IntegrationTokens) -> Iterator[None]:
    if vault.redis is None:
        raise ServiceUnavailable("Redis is needed to refresh tokens.")
    lock = vault.redis.lock(
        f"hub:lock:token:{vault.row.id}",
        timeout=LOCK_TIMEOUT_SECONDS,
        blocking_timeout=LOCK_WAIT_SECONDS,
    )
    if not lock.acquire():
        raise ServiceUnavailable("Another process is still refreshing this token.")
    try:
        yield
    finally:
        try:
            lock.release()
        except LockError:
            log.warning("token lock for integration %s expired before release", vault.row.id)


@contextmanager
def _own_session(vault: IntegrationTokens) -> Iterator[Session]:
    """A separate transaction, so a rotated refresh token is kept even if the hook fails."""
    session = Session(bind=vault.db.get_bind(), expire_on_commit=False)
    try:
        yield session
    finally:
        session.close()


def _release_sqlite_reader(vault: IntegrationTokens) -> None:
    """On SQLite a clean open transaction holds the write lock (BEGIN IMMEDIATE): end it."""
    session = vault.db() if isinstance(vault.db, scoped_session) else vault.db
    if session.get_bind().dialect.name != "sqlite" or not session.in_transaction():
        return
    if not (session.new or session.dirty or session.deleted):
        session.commit()


def _adopt(vault: IntegrationTokens, row: Integration) -> None:
    """Show the refreshed row to ``vault`` without making its session write it again."""
    for name in ("secrets", "token_expires_at", "external_account_id", "status"):
        set_committed_value(vault.row, name, getattr(row, name))
