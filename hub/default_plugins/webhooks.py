"""The built-in ``webhooks`` plugin: each event, signed, to every endpoint an org registered.

Its run for an event only records one delivery per matching endpoint; the delivery pump
(a job of its own, batched and concurrent) sends them and owns their retries, so an
endpoint's failures never count against this plugin. Endpoints are managed through the
core's API at ``/api/integrations/webhooks``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Flask, current_app

from hub import __version__
from hub.context import EventInfo, PluginContext
from hub.core.background import Background, Loop, install, loop_for
from hub.core.background_process import ProcessLoop
from hub.core.connections.usage import UsageRecorder
from hub.core.db import scope_to_org
from hub.core.egress import EgressPolicy
from hub.core.egress_http import EgressPool
from hub.core.webhooks import keys  # noqa: F401  (registers the key rotation of endpoint secrets)
from hub.core.webhooks.delivery import SendSettings
from hub.core.webhooks.endpoints import EVENT_TYPES, fan_out
from hub.core.webhooks.policy import Policy
from hub.core.webhooks.pump import Pump, PumpSettings
from hub.core.webhooks.queue import job_subscriptions, kick_after_commit, kick_if_due, take_kick
from hub.extensions import db
from hub.plugins import hookimpl
from hub.provider import Provider, Work

PROVIDER = Provider(
    name="webhooks",
    title="Webhooks",
    description="Signed HTTPS webhooks (Standard Webhooks) to endpoints the organization "
    "registers, with retries, an attempt log, resend and recovery.",
    version=__version__,
    event_types=EVENT_TYPES,
    always_on=True,
    db_only_hooks=True,  # on_event only inserts delivery rows; the pump does the sending
    work=(
        Work(
            "delivery",
            0.5,
            "An event delivered to an endpoint (2xx): the notice someone would otherwise "
            "pass on by hand, valued as a notification.",
        ),
    ),
)
_HTTP = "hub.webhooks.http"  # app.extensions: the worker's pooled connections
_TIMES = "hub.webhooks.response_times"  # app.extensions: endpoints' response times
PUMP_THREAD = "hub-webhook-pump"


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


def deliver_due() -> None:
    """The pump job: wake this worker's pump, which sends every due delivery in a thread of
    its own; the job returns at once, so no destination ever holds the worker."""
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    take_kick(app.extensions["hub.redis"])
    pump_loop(app).wake()


def pump_loop(app: Flask) -> Loop:
    """The worker's pump loop: a thread while there is work, or its process (below)."""
    return loop_for(app.extensions, PUMP_THREAD, lambda loop: _pump(app, loop))


def start_pump_process(app: Flask, idle: Callable[[], None]) -> ProcessLoop:
    """Fork the worker's pump into a process of its own (``HUB_WEBHOOK_PUMP_PROCESS``), so
    sending and dispatch each have an interpreter, and a core. Called by ``hub worker``
    before it has threads; `idle` runs in the child every few seconds (the heap's trim)."""
    _drop_connections(app, close=True)  # none crosses the fork
    timeout = float(app.config["HUB_WEBHOOK_TIMEOUT"]) + 5
    loop = ProcessLoop(
        PUMP_THREAD,
        lambda loop: _pump(app, loop),
        prepare=lambda: _drop_connections(app, close=False),
        idle=idle,
        stop_timeout=timeout,
    )
    loop.start()
    install(app.extensions, PUMP_THREAD, loop)
    return loop


def _drop_connections(app: Flask, close: bool) -> None:
    """Empty the database pools; `close=False` in a child, whose copies are the parent's."""
    with app.app_context():
        for engine in db.engines.values():
            engine.dispose(close=close)


def _pump(app: Flask, loop: Background) -> None:
    with app.app_context():
        try:
            scope_to_org(db.session, None)
            keyring, timings = app.extensions["hub.keyring"], app.extensions.setdefault(_TIMES, {})
            session = db.session()  # resolved once: the pump's thread keeps this app context
            Pump(session, keyring, pooled_http(app), settings(app), None, timings).run(loop)
        finally:
            db.session.remove()


def settings(app: Flask) -> PumpSettings:
    config = app.config
    return PumpSettings(
        send=send_settings(config, usage=app.extensions.get("hub.usage")),
        concurrency=int(config["HUB_WEBHOOK_CONCURRENCY"]),
        org_concurrency=int(config["HUB_WEBHOOK_ORG_CONCURRENCY"]),
    )


def send_settings(
    config: Any, timeout: float | None = None, usage: UsageRecorder | None = None
) -> SendSettings:
    policy = Policy.from_settings(config.get)
    return SendSettings(
        timeout=timeout or float(config["HUB_WEBHOOK_TIMEOUT"]),
        user_agent=f"Mycelium-Webhooks/{__version__}",
        policy=policy,
        usage=usage,
        plugin=PROVIDER.name,
        connect_timeout=float(config["HUB_WEBHOOK_CONNECT_TIMEOUT"]),
    )


def egress_http(app: Flask, pool_size: int) -> EgressPool:
    """HTTP through the egress guard with keep-alive connections per host.

    Neither requests nor urllib3: a delivery is one POST and needs no cookies (which must
    never carry one receiver's state to another organization's endpoint anyway), sessions,
    redirects or retries, and their per-request layers cost more than the POST itself.
    """
    policy = EgressPolicy.from_settings(app.config)
    return EgressPool(policy, maxsize=pool_size, num_hosts=64)


def pooled_http(app: Flask) -> EgressPool:
    """The worker's pool, kept between pump jobs so keep-alive connections are reused."""
    if _HTTP not in app.extensions:
        size = int(app.config["HUB_WEBHOOK_CONCURRENCY"])
        app.extensions[_HTTP] = egress_http(app, size)
    http: EgressPool = app.extensions[_HTTP]
    return http
