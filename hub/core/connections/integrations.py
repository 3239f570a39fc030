"""Per-organization integrations: enable with a validated config, change it, disable.

Secret config fields (``metadata={"secret": True}``) are encrypted with the key ring,
bound to their organization, integration and field, and never rendered: an admin sees
only whether each one is set.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import marshmallow
from sqlalchemy import select

from hub.core import clock, events
from hub.core.connections.integration_rows import (
    NOT_CONNECTED,
    check_account_free,
    find_locked,
    locked_or_new,
)
from hub.core.crypto import KeyRing, associated_data
from hub.core.db import AnySession
from hub.core.models import Integration
from hub.errors import Conflict, NotFound, ValidationError
from hub.provider import Provider

MAX_ERROR_MESSAGE = 2000

EMPTY_SCHEMA = marshmallow.Schema.from_dict({}, name="NoConfigSchema")
# The token vault keeps its secrets under this prefix; config fields never use it.
TOKEN_PREFIX = "oauth."


def require_provider(providers: Mapping[str, Provider], name: str) -> Provider:
    """The Provider of an installed plugin, or NotFound."""
    provider = providers.get(name)
    if provider is None:
        raise NotFound(f"No installed plugin named {name!r}.")
    return provider


def find(session: AnySession, org_id: int, name: str) -> Integration | None:
    stmt = select(Integration).where(Integration.org_id == org_id, Integration.plugin == name)
    return session.scalar(stmt)


def find_by_account(session: AnySession, name: str, account_id: str) -> Integration | None:
    """The enabled integration of plugin `name` that recorded `account_id` (newest first)."""
    stmt = (
        select(Integration)
        .where(
            Integration.plugin == name,
            Integration.external_account_id == account_id,
            Integration.enabled.is_(True),
        )
        .order_by(Integration.updated_at.desc(), Integration.id.desc())
    )
    return session.scalars(stmt).first()


def _new_row(session: AnySession, org_id: int, name: str) -> Integration:
    row = Integration(org_id=org_id, plugin=name, config={}, secrets={}, status="disabled")
    session.add(row)
    session.flush()  # the id binds secrets' ciphertext to this row
    return row


def always_on_integration(session: AnySession, org_id: int, name: str) -> Integration:
    """The row of an always-on plugin for `org_id`, created enabled on first use."""
    row = find(session, org_id, name)
    if row is None:
        row = _new_row(session, org_id, name)
        row.enabled, row.status = True, "enabled"
    return row


def _schema(provider: Provider) -> marshmallow.Schema:
    return (provider.config_schema or EMPTY_SCHEMA)()


def validate_config(
    provider: Provider, data: dict[str, Any], stored_secrets: set[str]
) -> dict[str, Any]:
    """`data` checked by the plugin's schema (unknown fields refused); secrets may be omitted
    when already stored. A bad field is a 400 naming it."""
    schema = _schema(provider)
    optional = tuple(name for name in provider.secret_fields() if name in stored_secrets)
    try:
        loaded = schema.load(data, partial=optional or False, unknown=marshmallow.RAISE)
    except marshmallow.ValidationError as exc:
        messages = exc.messages if isinstance(exc.messages, dict) else {"_schema": exc.messages}
        raise ValidationError("Some config fields are invalid.", messages) from None
    dumped = schema.dump(loaded)
    return {key: dumped.get(key, value) for key, value in loaded.items()}


def _store(keyring: KeyRing, row: Integration, provider: Provider, config: dict[str, Any]) -> None:
    """Plain fields in `config`, secret fields encrypted in `secrets` (others kept)."""
    secret_names = set(provider.secret_fields())
    secrets = dict(row.secrets or {})
    for name in secret_names & set(config):
        aad = associated_data(row.org_id, row.id, name)
        secrets[name] = keyring.encrypt(str(config[name]), aad)
    row.secrets = secrets
    row.config = {k: v for k, v in config.items() if k not in secret_names}


def _stored_secrets(row: Integration | None) -> set[str]:
    return set() if row is None else set(row.secrets or {})


def _checked(
    provider: Provider, row: Integration | None, data: dict[str, Any], partial: bool
) -> dict[str, Any]:
    """`data` validated as a PUT (whole) or, `partial`, a PATCH (merged into the stored)."""
    if not partial:
        return validate_config(provider, data, _stored_secrets(row))
    if row is None:
        raise NotFound(f"{provider.title} is not set up for this organization; PUT it first.")
    merged = {**(row.config or {}), **data}
    return validate_config(provider, merged, _stored_secrets(row) - set(data))


def candidate_config(
    session: AnySession,
    providers: Mapping[str, Provider],
    keyring: KeyRing,
    org_id: int,
    name: str,
    data: dict[str, Any],
    partial: bool,
) -> dict[str, Any]:
    """The config a PUT (or, `partial`, a PATCH) of `data` would store, with the secret
    fields it keeps decrypted in: what the plugin's ``check_config`` is shown."""
    provider = require_provider(providers, name)
    row = find(session, org_id, name)
    config = _checked(provider, row, data, partial)
    if row is not None:
        kept = row.secrets or {}
        for field in set(provider.secret_fields()) & set(kept) - set(config):
            aad = associated_data(row.org_id, row.id, field)
            config[field] = keyring.decrypt(kept[field], aad)
    return config


def connected(row: Integration) -> bool:
    """Does `row` hold an OAuth access token?"""
    return f"{TOKEN_PREFIX}access_token" in (row.secrets or {})


def enable(
    session: AnySession,
    providers: Mapping[str, Provider],
    keyring: KeyRing,
    org_id: int,
    name: str,
    data: dict[str, Any],
) -> Integration:
    """PUT: enable `name` for the org with a whole new config; emits integration.enabled.

    An OAuth plugin that is not connected yet keeps its config and waits as
    ``not_connected`` (not enabled, so no runs): its callback enables it."""
    provider = require_provider(providers, name)
    row = find_locked(session, org_id, name)
    config = _checked(provider, row, data, partial=False)
    row = row or locked_or_new(session, org_id, name)
    _store(keyring, row, provider, config)
    row.disabled_reason = None
    row.consecutive_errors, row.last_error, row.updated_at = 0, None, clock.now()
    if provider.oauth2 is not None and not connected(row):
        row.enabled, row.status = False, NOT_CONNECTED
        return row
    check_account_free(session, row, row.external_account_id)
    was_enabled, row.enabled = row.enabled, True
    if row.status != "needs_reauth" or provider.oauth2 is None:
        row.status = "enabled"  # new credentials; an OAuth account is reconnected instead
    if not was_enabled:
        events.record(session, org_id, "integration.enabled", render_event(row))
    return row


def change(
    session: AnySession,
    providers: Mapping[str, Provider],
    keyring: KeyRing,
    org_id: int,
    name: str,
    data: dict[str, Any],
) -> Integration:
    """PATCH: change some config fields; secret fields keep their value unless given. A
    plugin without OAuth whose credentials were refused (``needs_reauth``) is ``enabled``
    again: its new config passed the plugin's ``check_config``, as a PUT's does."""
    provider = require_provider(providers, name)
    row = find_locked(session, org_id, name)
    config = _checked(provider, row, data, partial=True)
    assert row is not None  # _checked refuses a PATCH of nothing
    _store(keyring, row, provider, config)
    row.updated_at = clock.now()
    if row.enabled and row.status == "needs_reauth" and provider.oauth2 is None:
        row.status = "enabled"
    return row


def disable(
    session: AnySession,
    providers: Mapping[str, Provider],
    org_id: int,
    name: str,
    reason: str | None = None,
) -> Integration:
    """DELETE: stop sending the org's events to `name`; emits integration.disabled."""
    provider = require_provider(providers, name)
    if provider.always_on:
        raise Conflict(f"{provider.title} is built in and always on.")
    row = find_locked(session, org_id, name)
    if row is None:
        raise NotFound(f"{provider.title} is not set up for this organization.")
    if row.enabled:
        row.enabled, row.status = False, "disabled"
        row.disabled_reason = reason or "Disabled by an admin."
        events.record(session, org_id, "integration.disabled", render_event(row))
    elif row.status == NOT_CONNECTED:  # it was waiting for a connection: it no longer is
        row.status, row.disabled_reason = "disabled", reason or "Disabled by an admin."
    return row


def forget_credentials(row: Integration) -> None:
    """Drop the OAuth tokens kept for `row` (config secrets stay): it must reconnect."""
    row.secrets = {k: v for k, v in (row.secrets or {}).items() if not k.startswith(TOKEN_PREFIX)}
    row.token_expires_at = row.connected_at = row.external_account_id = None


def count_consecutive_error(
    session: AnySession, row: Integration, message: str, limit: int, always_on: bool
) -> None:
    """One more consecutive error on `row`; at `limit` it is disabled (once), with its event."""
    row.consecutive_errors += 1
    row.last_error, row.last_error_at = message[:MAX_ERROR_MESSAGE], clock.now()
    if row.consecutive_errors >= limit and row.enabled and not always_on:
        row.enabled, row.status = False, "disabled"
        row.disabled_reason = (
            f"Disabled after {row.consecutive_errors} consecutive errors; the last: {message}"
        )[:MAX_ERROR_MESSAGE]
        events.record(session, row.org_id, "integration.disabled", render_event(row))


def render_event(row: Integration) -> dict[str, Any]:
    """The integration as events carry it (never a secret)."""
    return {
        "id": row.id,
        "plugin": row.plugin,
        "enabled": row.enabled,
        "status": row.status,
        "config": dict(row.config or {}),
        "external_account_id": row.external_account_id,
        "disabled_reason": row.disabled_reason,
    }


def _when(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def render(
    provider: Provider, row: Integration | None, health: dict[str, Any] | None = None
) -> dict[str, Any]:
    """An integration as the API shows it; secret fields only as ``{"set": bool}``;
    `health`: its newest health check, rendered."""
    enabled = provider.always_on or bool(row and row.enabled)
    config: dict[str, Any] = dict(row.config or {}) if row else {}
    stored = _stored_secrets(row)
    for name in provider.secret_fields():
        config[name] = {"set": name in stored}
    return {
        "plugin": provider.name,
        "title": provider.title,
        "always_on": provider.always_on,
        "enabled": enabled,
        "status": (row.status if row else "disabled") if not provider.always_on else "enabled",
        "config": config,
        "connected": any(key.startswith(TOKEN_PREFIX) for key in stored),
        "external_account_id": row.external_account_id if row else None,
        "connected_at": _when(row.connected_at if row else None),
        "last_error": row.last_error if row else None,
        "last_error_at": _when(row.last_error_at if row else None),
        "last_success_at": _when(row.last_success_at if row else None),
        "consecutive_errors": row.consecutive_errors if row else 0,
        "disabled_reason": row.disabled_reason if row else None,
        "health": health if row is not None else None,
    }


def list_for_org(
    session: AnySession,
    providers: Mapping[str, Provider],
    org_id: int,
    health: Callable[[list[int]], dict[int, dict[str, Any] | None]] | None = None,
) -> list[dict[str, Any]]:
    """This org's integration of every installed plugin that declares a Provider;
    `health` gives the rendered newest check of integration ids."""
    stmt = select(Integration).where(Integration.org_id == org_id)
    rows = {row.plugin: row for row in session.scalars(stmt)}
    checks = health([row.id for row in rows.values()]) if health else {}
    return [
        render(provider, row, checks.get(row.id) if row else None)
        for name, provider in sorted(providers.items())
        for row in [rows.get(name)]
    ]
