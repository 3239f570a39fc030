"""What a hook receives: one organization's integration, and everything it may touch.

Part of the plugin contract, so it imports nothing of ``hub.core``: the core's context
builder (``hub/core/connections/context.py``) reads the rows and hands a :class:`PluginContext` its
data and its services (secrets, events, tokens, usage) as plain callables.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import requests
from sqlalchemy.orm import Session, scoped_session

from hub.errors import PermanentError
from hub.provider import Provider


@dataclass(frozen=True)
class OrgInfo:
    """The organization a context is for (``ctx.org``): who it is and its branding."""

    id: int
    """The organization's id (``org_id`` of its rows)."""
    slug: str
    """Its URL-safe name."""
    name: str
    """Its name."""
    timezone: str
    """Its IANA time zone (``"Europe/Berlin"``): local times for digests and reminders."""
    company_name: str | None
    """The agency's name for clients' eyes; None: ``name``."""
    logo_url: str | None
    """Its logo, for branded messages."""
    primary_color: str | None
    """Its brand colour, ``#rrggbb``."""
    support_email: str | None
    """Where clients write for help."""

    @classmethod
    def of(cls, org: Any) -> OrgInfo:
        """From an organization row (anything with these attributes)."""
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
        """The name to show clients: ``company_name``, else ``name``."""
        return self.company_name or self.name


@dataclass(frozen=True)
class IntegrationInfo:
    """The organization's integration of the plugin (``ctx.integration``)."""

    id: int
    """The integration's id (``integration_id`` of its runs)."""
    plugin: str
    """The plugin's name."""
    status: str
    """``"enabled"``, ``"disabled"`` or ``"needs_reauth"`` (its credentials were refused)."""
    external_account_id: str | None
    """The provider's account it is connected to (:func:`hub.set_external_account_id`)."""


@dataclass(frozen=True)
class EventInfo:
    """An event as hooks see it; ``id`` is the idempotency key."""

    id: str
    """The event's id (``evt_...``): the idempotency key, since a run may execute twice."""
    type: str
    """Its type (``"client.created"``)."""
    org_id: int
    """The organization it happened in."""
    created_at: datetime
    """When it happened (aware UTC)."""
    data: dict[str, Any]
    """Its payload; ``data["actor"]`` names who made the change when a request caused it."""

    @classmethod
    def of(cls, event: Any) -> EventInfo:
        """From an event row (its ``payload`` becomes ``data``)."""
        return cls(event.id, event.type, event.org_id, event.created_at, event.payload)


class PluginContext:
    """One organization's integration of one plugin: everything a hook may touch.

    Hooks receive it as ``ctx``; work that has none gets one from :func:`hub.context_for`,
    a plugin route from :func:`hub.current_context` or :func:`hub.find_integration`.

    Attributes:
        db: The hub's database session (plugins never open their own); queries of
            org-scoped tables see only this organization's rows, and a hook's writes
            commit with its run.
        org: The organization (:class:`hub.OrgInfo`).
        integration: Its integration of the plugin (:class:`hub.IntegrationInfo`).
        config: The integration's config as the schema validated it, without the secret
            fields (read those with ``secret``); ``{}`` after an OAuth connection.
        provider: The plugin's own :class:`hub.Provider`.
        redis: The hub's Redis client (``redis.Redis``) for the plugin's own locks and
            counters; None in a context built without one.
        log: A logger (``hub.plugin.<name>``) whose records carry the org and plugin.

    Egress: ``http`` is for the provider's own API, at URLs from the plugin's settings,
    and does not pass the egress guard; nor does the token refresh behind
    ``access_token``. A destination an organization supplies (a webhook URL, a mail
    server) goes through the guard: :func:`hub.check_url` or :func:`hub.check_host` when
    it is saved, :func:`hub.egress_session` or ``hub.egress.create_connection`` when it
    is called.
    """

    def __init__(
        self,
        *,
        session: Session | scoped_session[Any],
        org: OrgInfo,
        integration: IntegrationInfo,
        config: Mapping[str, Any],
        provider: Provider,
        settings: Mapping[str, Any],
        http: requests.Session | Callable[[], requests.Session],
        secret: Callable[[str], str | None],
        emit: Callable[[str, dict[str, Any]], str],
        access_token: Callable[[str | None], str],
        redis: Any = None,
        recorder: Callable[..., None] | None = None,
        row: Any = None,
    ) -> None:
        """Built by the core (``hub/core/connections/context.py``), never by a plugin: `secret`,
        `emit`, `access_token` and `recorder` are the services behind the methods of the
        same names, `row` the core's own handle on the integration row."""
        self.db = session
        self.org = org
        self.integration = integration
        self.config: dict[str, Any] = dict(config)
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
        self._recorder = recorder
        self.log = logging.LoggerAdapter(
            logging.getLogger(f"hub.plugin.{provider.name}"),
            {"org": org.slug, "plugin": provider.name},
        )
        self._row = row
        self._secret = secret
        self._emit = emit
        self._access_token = access_token
        self._settings = settings

    @property
    def http(self) -> requests.Session:
        """A requests session for the provider's own API: the hub's timeout
        (``HUB_HTTP_TIMEOUT``), the provider's quota, a usage record per call, and a 429
        raised as :class:`hub.RateLimited` with its ``Retry-After``. Not egress-guarded:
        use it for URLs from the plugin's settings, never for one an organization typed."""
        if self._http is None:
            assert self._make_http is not None
            self._http = self._make_http()
            self._label_http()
        return self._http

    def calls_are_for(self, feature: str) -> None:
        """Name what provider calls made from now on are for: their usage records'
        feature (the worker names the hook before calling it)."""
        self._feature = feature
        self._label_http()

    @contextmanager
    def calls_for(self, feature: str) -> Iterator[None]:
        """Provider calls made in this block are usage of `feature` (a unit of work, such as
        a message posted), then the label goes back to what it was."""
        before = self._feature
        self.calls_are_for(feature)
        try:
            yield
        finally:
            self._feature = before
            self._label_http()

    def record_usage(
        self,
        feature: str,
        *,
        ok: bool = True,
        status: int = 0,
        duration: float = 0.0,
        size: int = 0,
        method: str = "",
    ) -> None:
        """Record one unit of work done without ``ctx.http`` (an email sent, a delivery).

        One pipelined Redis round trip, moved to the database in batches; never raises.
        ``duration`` is in seconds, ``size`` in bytes; a failed unit counts for no ROI.
        """
        recorder = self._recorder
        if recorder is None:
            return
        try:
            recorder(
                org_id=self.org.id,
                plugin=self.provider.name,
                feature=feature,
                method=method,
                status=status,
                duration=duration,
                size=size,
                ok=ok,
            )
        except Exception:  # recording must never break the plugin's work
            self.log.exception("usage not recorded")

    def _label_http(self) -> None:
        if self._http is not None and hasattr(self._http, "feature"):
            self._http.feature = self._feature or "other"

    def secret(self, name: str) -> str | None:
        """A secret config field (or a kept token field, ``oauth.<key>``), decrypted on
        demand; None when it is not set.

        The refresh token is not among them: only the ``refresh_token`` hook receives it.
        """
        return self._secret(name)

    def access_token(self, rejected: str | None = None) -> str:
        """A valid OAuth access token, refreshed first when it expires within the margin.

        Pass ``rejected``, the token the provider just refused as expired, to get a new one
        (refreshed once across processes: a caller that finds it already replaced gets the
        replacement; ``ctx.http`` does this by itself on a 401). Raises NeedsReauth when the
        integration is not connected or the provider refused the refresh;
        ServiceUnavailable or RateLimited when the refresh should be retried. The refresh
        calls the token URL setting directly, not through the egress guard.
        """
        return self._access_token(rejected)

    def setting(self, name: str) -> Any:
        """A hub or plugin setting (``<PLUGIN>_API_BASE``), from the environment, else its
        declared default; None for a setting nobody declared."""
        return self._settings.get(name)

    @contextmanager
    def lock(self, name: str, *, timeout: float, wait: float = 0.0) -> Iterator[bool]:
        """Hold the lock `name` of this plugin and organization across every worker and web
        process (in Redis); yields whether it was had: at once with ``wait=0``, else within
        `wait` seconds. It lapses after `timeout` seconds, so a killed worker cannot keep it:
        make `timeout` longer than the work it guards. ``PermanentError`` without Redis."""
        if self.redis is None:
            raise PermanentError(f"Redis is needed for the lock {name!r}.")
        lock = self.redis.lock(
            f"hub:lock:{self.provider.name}:{self.org.id}:{name}",
            timeout=timeout,
            blocking_timeout=wait or None,
        )
        had = bool(lock.acquire(blocking=wait > 0))
        try:
            yield had
        finally:
            if had:
                try:
                    lock.release()
                except Exception:  # it lapsed meanwhile: nothing of ours left to release
                    self.log.warning("lock %s lapsed before its release", name)

    def emit(self, type_: str, data: dict[str, Any]) -> str:
        """Record a new event for this organization (dispatched after commit); its id.

        Declare the type in ``Provider.event_types``, so webhooks can subscribe to it.
        """
        return self._emit(type_, data)
