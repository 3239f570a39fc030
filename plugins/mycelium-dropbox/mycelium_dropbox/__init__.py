"""Dropbox for Mycelium Hub: folder trees, uploads of any size, change sync.

The hooks below only delegate: ``client.py`` speaks Dropbox API v2, ``folders.py`` keeps
the organization's and each client's tree, ``receiving.py`` and ``uploads.py`` take files
in and send them, ``sync.py`` brings Dropbox's changes back, ``routes.py`` serves the API
and the webhook, ``jobs.py`` runs the rest, and ``emulator/`` is a loopback Dropbox for
tests, benchmarks and the sandbox.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hub import (
    ConsolePage,
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
from mycelium_dropbox import access, folders, health, jobs, models, routes
from mycelium_dropbox.provider import PROVIDER

__all__ = ["PROVIDER", "models"]

MIGRATIONS = Path(__file__).resolve().parent / "migrations" / "versions"
SYNC_CRON = "*/15 * * * *"  # the seed's sync-dropbox-changes
UPLOADS_CRON = "* * * * *"  # uploads that wait: retries, a worker that died


def _start_sandbox(host: str, hub_url: str) -> SandboxServer:
    from mycelium_dropbox.emulator.sandbox import start

    return start(host, hub_url)


@hookimpl
def register_sandbox(register: RegisterSandbox) -> None:
    """`hub up --sandbox`: the loopback Dropbox of the tests, with a page at /sandbox."""
    register(Sandbox(title="Dropbox", start=_start_sandbox))


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
    register("sync-dropbox-changes", SYNC_CRON, jobs.scheduled_sync)
    register("uploads", UPLOADS_CRON, jobs.due_uploads)


@hookimpl
def register_console_pages(register: RegisterConsolePage) -> None:
    register(
        ConsolePage(
            name="files",
            title="Dropbox files",
            description="Files uploaded through the hub, newest first, where they went in "
            "each client's folder, and their links.",
            source="files",
            columns=(
                ("name", "File"),
                ("client_id", "Client"),
                ("path", "Path in Dropbox"),
                ("size", "Bytes"),
                ("shared_link", "Shared link"),
            ),
        )
    )


@hookimpl
def on_integration_enabled(ctx: PluginContext) -> None:
    """Connected (or enabled again): the tree, the clients' trees and the cursor, in a job."""
    if access.connected(ctx):
        access.enqueue_after_commit(ctx, "setup", ctx.org.id)


@hookimpl
def on_client_created(ctx: PluginContext, client: dict[str, Any]) -> None:
    if access.connected(ctx) and access.config(ctx)["auto_create_client_folders"]:
        folders.make_client_tree(ctx, int(client["id"]))


@hookimpl
def on_client_updated(ctx: PluginContext, client: dict[str, Any]) -> None:
    if access.connected(ctx):
        folders.rename_client(ctx, client)
        folders.add_client_services(ctx, client)


@hookimpl
def on_client_deleted(ctx: PluginContext, client: dict[str, Any]) -> None:
    if access.connected(ctx):
        folders.archive_client(ctx, int(client["id"]))


@hookimpl
def on_service_type_created(ctx: PluginContext, service_type: dict[str, Any]) -> None:
    if access.connected(ctx):
        folders.add_service_type(ctx, str(service_type["name"]))


@hookimpl
def on_service_type_updated(ctx: PluginContext, service_type: dict[str, Any]) -> None:
    previous = service_type.get("previous_name")
    if access.connected(ctx) and previous:
        folders.rename_service_type(ctx, str(previous), str(service_type["name"]))


@hookimpl
def health_check(ctx: PluginContext) -> HealthResult:
    return health.check(ctx)
