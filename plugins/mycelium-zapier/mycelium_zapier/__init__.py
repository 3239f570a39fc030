"""Zapier for Mycelium Hub: the hub as a REST-hook backend for a Zapier app.

The hooks below only delegate: ``payloads.py`` shapes events for Zapier, ``samples.py``
keeps the recent ones for Zap setup and polling, ``subscriptions.py`` manages REST-hook
subscriptions, ``delivery.py`` sends them signed and retried (``sending.py`` in a thread beside the
worker's jobs, organizations in turn), ``routes.py`` serves Zapier.
See docs/zapier.md for building the Zapier app.
"""

from __future__ import annotations

from pathlib import Path

from hub import (
    ConsolePage,
    EventInfo,
    PluginContext,
    RegisterConsolePage,
    RegisterJob,
    RegisterModels,
    RegisterProvider,
    RegisterRoute,
    after_commit,
    hookimpl,
)
from mycelium_zapier import delivery, models, payloads, routes, samples, sending
from mycelium_zapier.provider import PROVIDER, __version__

__all__ = ["PROVIDER", "__version__", "models"]

MIGRATIONS = Path(__file__).resolve().parent / "migrations" / "versions"
RETRY_CRON = "* * * * *"  # retries come due at any time; the first attempt is immediate


@hookimpl
def register_providers(register: RegisterProvider) -> None:
    register(PROVIDER)


@hookimpl
def register_routes(register: RegisterRoute) -> None:
    register(routes.bp)


@hookimpl
def register_models(register: RegisterModels) -> None:
    register(MIGRATIONS)


@hookimpl
def register_jobs(register: RegisterJob) -> None:
    register("zapier_retries", RETRY_CRON, retry_due)


@hookimpl
def on_event(ctx: PluginContext, event: EventInfo) -> None:
    """Keep the event for samples and queue it for each subscribed Zap; once that is
    committed, the sender (beside the worker's jobs) sends it."""
    payload = payloads.of_event(event)
    samples.remember(ctx.db, event, payload)
    if delivery.fan_out(ctx.db, event, payloads.serialise(payload)):
        after_commit(ctx.db, sending.wake)


def retry_due(ctx: PluginContext) -> None:
    """Every minute, per organization with Zapier enabled: forget all but the newest events
    of each type, and wake the sender for the retries that are due."""
    samples.prune(ctx.db, ctx.org.id)
    ctx.db.commit()
    sending.wake()


@hookimpl
def register_console_pages(register: RegisterConsolePage) -> None:
    register(
        ConsolePage(
            name="hooks",
            title="Zapier subscriptions",
            description="The Zaps subscribed to this organization's events (Zapier makes them).",
            source="hooks",
            columns=(
                ("event", "Event"),
                ("target_url", "Zap URL"),
                ("status", "Status"),
                ("last_success_at", "Last success"),
                ("failing_since", "Failing since"),
                ("disabled_reason", "Disabled because"),
            ),
        )
    )
