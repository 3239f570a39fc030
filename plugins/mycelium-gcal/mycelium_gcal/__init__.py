"""Google Calendar for Mycelium Hub: deadlines on the team's calendar, client meetings.

The hooks below only delegate: ``client.py`` speaks the Calendar API, ``bodies.py`` and
``meeting_body.py`` build events, ``events.py`` keeps each deadline event true,
``window.py`` sweeps the window, ``meetings.py`` and ``meeting_push.py`` schedule meetings,
``sync.py`` and ``channels.py`` bring Google's changes back, ``routes.py`` serves the API,
``jobs.py`` runs the rest, and ``emulator/`` is a loopback Google for tests and demos.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hub import (
    HealthResult,
    PluginContext,
    RegisterJob,
    RegisterModels,
    RegisterProvider,
    RegisterRoute,
    RegisterSandbox,
    Sandbox,
    SandboxServer,
    hookimpl,
)
from mycelium_gcal import access, channels, events, health, jobs, models, routes, window
from mycelium_gcal.provider import PROVIDER

__all__ = ["PROVIDER", "models"]

MIGRATIONS = Path(__file__).resolve().parent / "migrations" / "versions"
UPKEEP_CRON = "*/15 * * * *"  # channel renewal, the poll, the daily sweep
MEETINGS_CRON = "* * * * *"  # meeting retries and Meet links still pending


def _start_sandbox(host: str, hub_url: str) -> SandboxServer:
    from mycelium_gcal.emulator.sandbox import start

    return start(host, hub_url)


@hookimpl
def register_sandbox(register: RegisterSandbox) -> None:
    """`hub up --sandbox`: the loopback Google Calendar of the tests, with a page at /sandbox."""
    # the demo schedules client meetings too, to move them "in Google"
    register(
        Sandbox(title="Google Calendar", start=_start_sandbox, demo_config={"sync_meetings": True})
    )


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
    register("upkeep", UPKEEP_CRON, jobs.maintain)
    register("meetings", MEETINGS_CRON, jobs.due_meetings)


@hookimpl
def on_deliverable_created(ctx: PluginContext, deliverable: dict[str, Any]) -> None:
    _sync_one(ctx, deliverable)


@hookimpl
def on_deliverable_updated(ctx: PluginContext, deliverable: dict[str, Any]) -> None:
    _sync_one(ctx, deliverable)


@hookimpl
def on_deliverable_completed(ctx: PluginContext, deliverable: dict[str, Any]) -> None:
    _sync_one(ctx, deliverable)


@hookimpl
def on_deliverable_deleted(ctx: PluginContext, deliverable: dict[str, Any]) -> None:
    _sync_one(ctx, deliverable)


@hookimpl
def on_client_deleted(ctx: PluginContext, client: dict[str, Any]) -> None:
    """Its deliverables went with it (no events of their own): remove their events."""
    if access.connected(ctx):
        for deliverable_id in events.deliverables_of_client(ctx, int(client["id"])):
            events.sync_deliverable(ctx, deliverable_id)


@hookimpl
def on_client_updated(ctx: PluginContext) -> None:
    _request_sweep(ctx)  # its name is in its deliverables' events


@hookimpl
def on_user_updated(ctx: PluginContext) -> None:
    _request_sweep(ctx)  # an assignee's name and address are in their events


@hookimpl
def on_user_deleted(ctx: PluginContext) -> None:
    _request_sweep(ctx)  # their deliverables lost their assignee without an event


@hookimpl
def on_organization_updated(ctx: PluginContext) -> None:
    _request_sweep(ctx)  # a new time zone: every event is written in it again


@hookimpl
def on_integration_enabled(ctx: PluginContext) -> None:
    """Connected (or enabled again): watch, read and sweep, in a job."""
    if access.connected(ctx):
        window.request(ctx)
        access.enqueue_after_commit(ctx, "setup", ctx.org.id)


@hookimpl
def on_integration_disabled(ctx: PluginContext) -> None:
    """Disabled: stop the push channels while the token still works (a disconnect has
    stopped them already, in prepare_disconnect)."""
    channels.stop_all(ctx)


@hookimpl
def prepare_disconnect(ctx: PluginContext) -> None:
    channels.stop_all(ctx)


@hookimpl
def health_check(ctx: PluginContext) -> HealthResult:
    return health.check(ctx)


def _sync_one(ctx: PluginContext, deliverable: dict[str, Any]) -> None:
    if access.connected(ctx):
        events.sync_deliverable(ctx, int(deliverable["id"]))


def _request_sweep(ctx: PluginContext) -> None:
    if access.connected(ctx):
        window.request(ctx)
