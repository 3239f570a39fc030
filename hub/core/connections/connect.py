"""Connecting and disconnecting an organization's OAuth 2.0 integration."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import redis
from sqlalchemy.exc import IntegrityError

from hub.core import clock, events
from hub.core.connections import integration_rows, integrations, oauth, tokens
from hub.core.crypto import KeyRing
from hub.core.db import AnySession
from hub.core.models import ApiKey, Integration
from hub.errors import HubError, NeedsReauth, RateLimited, ServiceUnavailable
from hub.provider import Provider, Token

log = logging.getLogger(__name__)


def _check_starter(session: AnySession, flow: oauth.FlowState) -> None:
    """The key that started the flow must still be valid in its organization."""
    key = session.get(ApiKey, flow.api_key_id)
    if key is None or key.org_id != flow.org_id or key.revoked_at is not None:
        raise oauth.FlowFailed("invalid_state")


def _exchange(
    settings: Mapping[str, Any], provider: Provider, code: str, verifier: str | None
) -> Token:
    try:
        return oauth.exchange_code(settings, provider, code, verifier)
    except oauth.TokenRefused as exc:
        raise oauth.FlowFailed(exc.error) from exc
    except (ServiceUnavailable, RateLimited) as exc:
        raise oauth.FlowFailed("temporarily_unavailable") from exc
    except NeedsReauth as exc:
        raise oauth.FlowFailed("access_denied") from exc
    except HubError as exc:
        raise oauth.FlowFailed("token_exchange_failed") from exc


def complete(
    session: AnySession,
    client: redis.Redis,
    keyring: KeyRing,
    settings: Mapping[str, Any],
    provider: Provider,
    args: Mapping[str, str],
) -> Integration:
    """The callback: check the state, exchange the code, store the tokens, enable.

    Raises FlowFailed (nothing stored) for a refused, forged, reused or expired flow.
    """
    flow = oauth.take_state(client, args.get("state"), provider.name)
    if args.get("error"):
        raise oauth.FlowFailed(oauth.error_code(args["error"], "access_denied"))
    if not args.get("code"):
        raise oauth.FlowFailed("missing_code")
    _check_starter(session, flow)
    session.rollback()  # no transaction held while the provider answers
    token = _exchange(settings, provider, args["code"], flow.code_verifier)
    row = integration_rows.locked_or_new(session, flow.org_id, provider.name)
    try:
        integration_rows.check_account_free(session, row, token.external_account_id)
        tokens.store_token(keyring, row, token)
        _enable(session, row)
        session.commit()
    except (integration_rows.AccountTaken, IntegrityError) as exc:
        # Another organization holds this account (IntegrityError: it connected it just now).
        # The token is not revoked: a provider may hand that organization the same one.
        log.info("org %s: %s account already connected elsewhere", flow.org_id, provider.name)
        raise oauth.FlowFailed(integration_rows.AccountTaken.code) from exc
    log.info("org %s connected %s", flow.org_id, provider.name)
    return row


def _enable(session: AnySession, row: Integration) -> None:
    row.connected_at = clock.now()
    row.enabled = True
    row.status = "enabled"
    row.disabled_reason = None
    row.consecutive_errors = 0
    events.record(session, row.org_id, "integration.enabled", integrations.render_event(row))


def disconnect(
    session: AnySession,
    keyring: KeyRing,
    settings: Mapping[str, Any],
    provider: Provider,
    row: Integration,
) -> bool:
    """Revoke at the provider where it can, forget the tokens, disable; whether it revoked."""
    token = tokens.load_token(keyring, row)
    session.commit()  # no transaction held while the provider answers
    revoked = oauth.revoke(settings, provider, token) if token is not None else False
    row = integration_rows.find_locked(session, row.org_id, row.plugin) or row
    was_enabled = row.enabled
    integrations.forget_credentials(row)
    row.enabled = False
    row.status = "disabled"
    row.disabled_reason = "Disconnected by an admin."
    if was_enabled:
        events.record(session, row.org_id, "integration.disabled", integrations.render_event(row))
    session.commit()
    return revoked
