"""Building the PluginContext a hook receives, the same way in web requests and workers.

The context (``hub/context.py``) is the plugin contract and imports nothing of the core:
this module reads the rows and hands it its data and its services as callables (secrets
decrypted with the key ring, events recorded in the outbox, tokens from the vault, usage
records). The core reaches the plugin manager only through :class:`PluginManager`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

import requests

from hub.context import IntegrationInfo, OrgInfo, PluginContext
from hub.core import events
from hub.core.connections import tokens, usage
from hub.core.connections.http import provider_session
from hub.core.crypto import associated_data
from hub.core.db import AnySession
from hub.core.models import Integration, Organization
from hub.errors import NotFound
from hub.provider import Provider, Token


class AppLike(Protocol):
    """What a context needs of the app (a Flask app; the core does not import Flask)."""

    @property
    def config(self) -> dict[str, Any]: ...

    @property
    def extensions(self) -> dict[str, Any]: ...


class PluginManager(Protocol):
    """What the core needs of the plugin manager (``app.extensions["hub.plugins"]``, a
    ``hub.plugins.Plugins``; the core does not import it)."""

    @property
    def providers(self) -> Mapping[str, Provider]: ...

    def provider(self, name: str) -> Provider | None: ...

    def event_hooks(self, name: str, event_type: str) -> list[str]: ...

    def call_one(self, name: str, hook: str, **kwargs: Any) -> Any: ...

    def refresh_token(self, name: str, ctx: PluginContext, token: Token) -> Token | None: ...


def build_context(app: AppLike, session: AnySession, integration: Integration) -> PluginContext:
    """The context for `integration`'s plugin, for one organization."""
    return build_with_tokens(app, session, integration)[0]


def build_with_tokens(
    app: AppLike, session: AnySession, integration: Integration
) -> tuple[PluginContext, tokens.IntegrationTokens]:
    """The context, and the token vault's view of the same integration (for a refresh
    made outside a hook, such as the scheduled one)."""
    plugins: PluginManager = app.extensions["hub.plugins"]
    provider = plugins.provider(integration.plugin)
    if provider is None:
        raise NotFound(f"The plugin {integration.plugin!r} is not installed.")
    org = session.get(Organization, integration.org_id)
    if org is None:
        raise NotFound(f"No organization with id {integration.org_id}.")
    org_id = org.id
    keyring = app.extensions["hub.keyring"]
    client = app.extensions.get("hub.redis")
    # plugins' own contexts (jobs) in a process without the app's recorder use their Redis
    recorder = app.extensions.get("hub.usage")
    if recorder is None and client is not None:
        recorder = usage.UsageRecorder(client)

    def refresh_hook(token: Token) -> Token | None:
        return plugins.refresh_token(provider.name, ctx, token)

    vault = tokens.IntegrationTokens(session, integration, keyring, provider, client, refresh_hook)

    def http() -> requests.Session:
        # an OAuth provider's 401 is answered by one refresh of this integration's token
        renew = (
            (lambda rejected: tokens.renew_rejected(vault, rejected)) if provider.oauth2 else None
        )
        return provider_session(app.config, app.extensions, org_id, provider, renew)

    def secret(name: str) -> str | None:
        # the refresh token is not among them: only the refresh_token hook receives it
        stored = (integration.secrets or {}).get(name)
        if stored is None or name == tokens.REFRESH:
            return None
        return keyring.decrypt(stored, associated_data(integration.org_id, integration.id, name))

    def emit(type_: str, data: dict[str, Any]) -> str:
        return events.record(session, org_id, type_, data).id

    ctx = PluginContext(
        session=session,
        org=OrgInfo.of(org),
        integration=IntegrationInfo(
            integration.id, integration.plugin, integration.status, integration.external_account_id
        ),
        config=integration.config or {},
        provider=provider,
        settings=app.config,
        http=http,
        secret=secret,
        emit=emit,
        access_token=lambda rejected: tokens.access_token(vault, rejected),
        redis=client,
        recorder=recorder,
        row=integration,
    )
    return ctx, vault
