"""What a hook receives: one organization's integration, and everything it may touch."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import requests

from hub.core import events
from hub.core.crypto import KeyRing, associated_data
from hub.core.db import AnySession
from hub.core.models import Event, Integration, Organization
from hub.provider import Provider


@dataclass(frozen=True)
class OrgInfo:
    id: int
    slug: str
    name: str
    timezone: str
    company_name: str | None
    logo_url: str | None
    primary_color: str | None
    support_email: str | None

    @classmethod
    def of(cls, org: Organization) -> OrgInfo:
        return cls(
            org.id,
            org.slug,
            org.name,
            org.timezone,
            org.company_name,
            org.logo_url,
            org.primary_color,
            org.support_email,
        )

    @property
    def display_name(self) -> str:
        return self.company_name or self.name


@dataclass(frozen=True)
class IntegrationInfo:
    id: int
    plugin: str
    status: str
    external_account_id: str | None


@dataclass(frozen=True)
class EventInfo:
    """An event as hooks see it; ``id`` is the idempotency key."""

    id: str
    type: str
    org_id: int
    created_at: datetime
    data: dict[str, Any]

    @classmethod
    def of(cls, event: Event) -> EventInfo:
        return cls(event.id, event.type, event.org_id, event.created_at, event.payload)


class PluginContext:
    """One organization's integration of one plugin (see DESIGN.md, The context)."""

    def __init__(
        self,
        *,
        session: AnySession,
        org: Organization,
        integration: Integration,
        provider: Provider,
        keyring: KeyRing,
        settings: dict[str, Any],
        http: requests.Session | Callable[[], requests.Session],
        redis: Any = None,
    ) -> None:
        self.db = session
        self.org = OrgInfo.of(org)
        self.integration = IntegrationInfo(
            integration.id, integration.plugin, integration.status, integration.external_account_id
        )
        self.config: dict[str, Any] = dict(integration.config or {})
        self.provider = provider
        # made on first use: most runs never call their provider (the session costs ~0.1 ms)
        self._http: requests.Session | None = None
        self._make_http: Callable[[], requests.Session] | None = None
        if isinstance(http, requests.Session):
            self._http = http
        else:
            self._make_http = http
        self._feature: str | None = None
        self.redis = redis
        self.log = logging.LoggerAdapter(
            logging.getLogger(f"hub.plugin.{provider.name}"),
            {"org": org.slug, "plugin": provider.name},
        )
        self._row = integration
        self._keyring = keyring
        self._settings = settings

    @property
    def http(self) -> requests.Session:
        """The HTTP session for calls to this plugin's provider (timeouts, usage, quotas)."""
        if self._http is None:
            assert self._make_http is not None
            self._http = self._make_http()
            self._label_http()
        return self._http

    def calls_are_for(self, feature: str) -> None:
        """Name what provider calls made from now on are for (the worker names the hook)."""
        self._feature = feature
        self._label_http()

    def _label_http(self) -> None:
        if self._http is not None and self._feature and hasattr(self._http, "feature"):
            self._http.feature = self._feature

    def secret(self, name: str) -> str | None:
        """A secret config field (or kept token field), decrypted on demand.

        The refresh token is not among them: only the ``refresh_token`` hook receives it.
        """
        stored = (self._row.secrets or {}).get(name)
        if stored is None or name == "oauth.refresh_token":
            return None
        aad = associated_data(self._row.org_id, self._row.id, name)
        return self._keyring.decrypt(stored, aad)

    def access_token(self, rejected: str | None = None) -> str:
        """A valid OAuth access token, refreshed first when it expires within the margin.

        Pass ``rejected``, the token the provider just refused as expired, to get a new one
        (refreshed once across processes: a caller that finds it already replaced gets the
        replacement). Raises NeedsReauth when the integration is not connected or the
        provider refused the refresh; ServiceUnavailable or RateLimited when the refresh
        should be retried.
        """
        from hub.core import tokens  # the vault imports this module's type

        return tokens.access_token(self, rejected)

    def setting(self, name: str) -> Any:
        """A hub or plugin setting (``SLACK_API_BASE``), with its declared default."""
        return self._settings.get(name)

    def emit(self, type_: str, data: dict[str, Any]) -> str:
        """Record a new event for this organization (dispatched after commit); its id."""
        return events.record(self.db, self.org.id, type_, data).id
