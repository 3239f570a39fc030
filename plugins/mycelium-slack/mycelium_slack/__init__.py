"""Slack for Mycelium Hub: notifications, user mentions, slash commands.

The hooks below only delegate: ``client.py`` speaks Slack's Web API, ``messages.py`` and
``alerts.py`` build Block Kit, ``notify.py`` posts, ``users.py`` maps people,
``commands.py`` answers slash commands, ``routes.py`` serves Slack's requests.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hub import (
    ConsolePage,
    EventInfo,
    HealthResult,
    PluginContext,
    RegisterConsolePage,
    RegisterJob,
    RegisterModels,
    RegisterProvider,
    RegisterRoute,
    RegisterSandbox,
    Sandbox,
    SandboxServer,
    hookimpl,
)
from mycelium_slack import lifecycle, models, notify, routes, users
from mycelium_slack.provider import NOTIFY_DEFAULTS, PROVIDER

__all__ = ["PROVIDER", "models"]

MIGRATIONS = Path(__file__).resolve().parent / "migrations" / "versions"
# Events with a hook of their own; on_event posts every other event the org chose.
OWN_HOOKS = {
    "deliverable.due_soon",
    "deliverable.overdue",
    "deliverable.completed",
    "client.created",
}
USER_SYNC_CRON = "17 4 * * *"  # daily, at a quiet minute


def _start_sandbox(host: str, hub_url: str) -> SandboxServer:
    from mycelium_slack.emulator.sandbox import start

    return start(host, hub_url)


@hookimpl
def register_sandbox(register: RegisterSandbox) -> None:
    """`hub up --sandbox`: the loopback Slack of the tests, with a page at /sandbox."""
    # the demo posts Dropbox's new files too, so an upload in its sandbox shows up here
    demo = {"notify_events": [*NOTIFY_DEFAULTS, "dropbox.file_added"]}
    register(Sandbox(title="Slack", start=_start_sandbox, demo_config=demo))


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
    register("user_sync", USER_SYNC_CRON, lifecycle.sync_users_job)


@hookimpl
def register_console_pages(register: RegisterConsolePage) -> None:
    register(USER_MAPPING_PAGE)


USER_MAPPING_PAGE = ConsolePage(
    name="users",
    title="Slack users",
    description="Each hub user and the Slack account mentions go to (matched by email daily).",
    source="users",
    columns=(
        ("name", "Name"),
        ("email", "Email"),
        ("slack_username", "Slack user"),
        ("slack_user_id", "Slack id"),
        ("synced_at", "Matched"),
    ),
)


@hookimpl
def on_deliverable_due(ctx: PluginContext, event: EventInfo, deliverable: dict[str, Any]) -> None:
    notify.notify(ctx, event, deliverable)


@hookimpl
def on_deliverable_overdue(
    ctx: PluginContext, event: EventInfo, deliverable: dict[str, Any]
) -> None:
    notify.notify(ctx, event, deliverable)


@hookimpl
def on_deliverable_completed(
    ctx: PluginContext, event: EventInfo, deliverable: dict[str, Any]
) -> None:
    notify.notify(ctx, event, deliverable)


@hookimpl
def on_client_created(ctx: PluginContext, event: EventInfo, client: dict[str, Any]) -> None:
    notify.notify(ctx, event, client)


@hookimpl
def on_event(ctx: PluginContext, event: EventInfo) -> None:
    """Admin alerts and any other event the organization chose to see in Slack."""
    about_slack = event.type.startswith("integration.") and event.data.get("plugin") == "slack"
    if event.type not in OWN_HOOKS and not about_slack:  # Slack cannot report its own outage
        notify.notify(ctx, event, event.data)


@hookimpl
def on_user_created(ctx: PluginContext, event: EventInfo, user: dict[str, Any]) -> None:
    if lifecycle.connected(ctx):
        users.sync_one(ctx.db, ctx.org.id, user, notify.slack_client(ctx))


@hookimpl
def on_integration_enabled(
    ctx: PluginContext, event: EventInfo, integration: dict[str, Any]
) -> None:
    lifecycle.on_connect(ctx, event)


@hookimpl
def health_check(ctx: PluginContext) -> HealthResult:
    return notify.health(ctx)


@hookimpl
def send_test_message(ctx: PluginContext, user: dict[str, Any] | None) -> str:
    return notify.send_test(ctx, user)
