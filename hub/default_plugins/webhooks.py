"""The built-in ``webhooks`` plugin: each event, signed, to every endpoint an org registered.

Its run for an event only records one delivery per matching endpoint; the delivery pump
(a job of its own, batched and concurrent) sends them and owns their retries, so an
endpoint's failures never count against this plugin. Endpoints are managed through the
core's API at ``/api/integrations/webhooks``.
"""

from __future__ import annotations

import http.cookiejar
from collections.abc import Callable
from typing import Any

import requests
from flask import Flask, current_app

from hub import __version__
from hub.context import EventInfo, PluginContext
from hub.core import webhook_keys  # noqa: F401  (registers the key rotation of endpoint secrets)
from hub.core.db import scope_to_org
from hub.core.egress import EgressPolicy
from hub.core.egress_http import EgressAdapter, EgressSession
from hub.core.webhook_delivery import SendSettings
from hub.core.webhook_pump import Pump, PumpSettings
from hub.core.webhook_queue import job_subscriptions, kick_after_commit, kick_if_due, take_kick
from hub.core.webhook_schedule import Policy
from hub.core.webhooks import EVENT_TYPES, fan_out
from hub.extensions import db
from hub.plugins import hookimpl
from hub.provider import Provider

PROVIDER = Provider(
    name="webhooks",
    title="Webhooks",
    description="Signed HTTPS webhooks (Standard Webhooks) to endpoints the organization "
    "registers, with retries, an attempt log, resend and recovery.",
    version=__version__,
    event_types=EVENT_TYPES,
    always_on=True,
)
_HTTP = "hub.webhooks.http"  # app.extensions: the worker's pooled session


@hookimpl
def register_providers(register: Callable[[Provider], None]) -> None:
    register(PROVIDER)


@hookimpl
def on_event(ctx: PluginContext, event: EventInfo) -> None:
    """One delivery per enabled endpoint subscribed to the event; the pump sends them."""
    if fan_out(ctx.db, event, job_subscriptions()):
        # once per job, at its end (a job performs up to a batch of runs)
        kick_after_commit(ctx.db, ctx.redis, defer=True)


def sweep(app: Flask) -> None:
    """The core job ``webhook_sweep`` (every HUB_SWEEP_SECONDS): start the pump when a
    delivery no worker holds is due: a retry's time came, or its pump job was lost."""
    scope_to_org(db.session, None)
    kick_if_due(db.session, app.extensions["hub.redis"])


def deliver_due() -> int:
    """The pump job: send every due delivery; how many attempts were made."""
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    client = app.extensions["hub.redis"]
    take_kick(client)
    scope_to_org(db.session, None)
    report = Pump(db.session, app.extensions["hub.keyring"], pooled_http(app), settings(app)).run()
    kick_if_due(db.session, client)  # more than one pump's budget was due
    return report.sent


def settings(app: Flask) -> PumpSettings:
    config = app.config
    return PumpSettings(
        send=send_settings(config),
        concurrency=int(config["HUB_WEBHOOK_CONCURRENCY"]),
    )


def send_settings(config: Any, timeout: float | None = None) -> SendSettings:
    policy = Policy.from_settings(config.get)
    return SendSettings(
        timeout=timeout or float(config["HUB_WEBHOOK_TIMEOUT"]),
        user_agent=f"Mycelium-Webhooks/{__version__}",
        policy=policy,
    )


class _NoCookies(http.cookiejar.DefaultCookiePolicy):
    """One receiver's cookies must never reach another organization's endpoint."""

    def set_ok(self, cookie: http.cookiejar.Cookie, request: Any) -> bool:
        return False


def egress_http(app: Flask, timeout: float, pool_size: int) -> requests.Session:
    """A session through the egress guard with a connection pool per destination host."""
    session = EgressSession(EgressPolicy.from_settings(app.config), timeout)
    adapter = EgressAdapter(session.policy, pool_connections=64, pool_maxsize=pool_size)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.cookies.set_policy(_NoCookies())
    return session


def pooled_http(app: Flask) -> requests.Session:
    """The worker's session, kept between pump jobs so keep-alive connections are reused."""
    if _HTTP not in app.extensions:
        size = int(app.config["HUB_WEBHOOK_CONCURRENCY"])
        app.extensions[_HTTP] = egress_http(app, float(app.config["HUB_WEBHOOK_TIMEOUT"]), size)
    session: requests.Session = app.extensions[_HTTP]
    return session
