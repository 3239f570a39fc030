"""Every hook a plugin may implement: the contract between the hub and its plugins.

Name families tell how a hook is called:

- registration ``register_<things>(register)``: once per process at start-up;
- events ``on_<noun>_<past participle>(ctx, event, ...)``: one job per enabled plugin;
- collection (a noun phrase): every implementation is called and results are listed;
- query (a verb phrase, ``firstresult``): the owning plugin answers; ``check_config`` runs
  before the integration exists, so it gets ``(config, settings)`` instead of ``ctx``.

Implementations accept only the arguments they need, so hooks grow by adding arguments,
never by renaming them. ``ctx`` is a :class:`hub.PluginContext` for one organization's
integration; ``event`` is a :class:`hub.EventInfo` whose ``id`` is the idempotency key
(a run may execute twice).

An event hook's run ends by what the hook does: returning ``None`` succeeds; raising
:class:`hub.RateLimited` runs it again after ``retry_after`` seconds, no attempt counted;
:class:`hub.PermanentError` fails it at once; :class:`hub.NeedsReauth` marks the
integration ``needs_reauth`` and the run waits until an admin reconnects it; any other
exception is retried with backoff (``HUB_RUN_BACKOFF``, up to ``HUB_RUN_MAX_ATTEMPTS``).
A hook that hangs is cut off by the worker's deadline, ``HUB_RUN_TIMEOUT`` seconds: a
SIGALRM interrupts it wherever it waits or loops, with an exception that ``except
Exception`` does not catch; its ``finally`` blocks run, its writes are rolled back, and
the run is retried like any failure.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import click
import pluggy
from flask import Blueprint

from hub.provider import ConsolePage, Provider, Sandbox

if TYPE_CHECKING:
    from hub.context import EventInfo, PluginContext
    from hub.provider import HealthResult, Token

hookspec = pluggy.HookspecMarker("mycelium")

RegisterProvider = Callable[[Provider], None]
"""What ``register_providers`` hands a plugin: ``register(provider)``."""
RegisterRoute = Callable[[Blueprint], None]
"""What ``register_routes`` hands a plugin: ``register(blueprint)``."""
RegisterJob = Callable[[str, str, Callable[..., Any]], None]
"""What ``register_jobs`` hands a plugin: ``register(name, cron, function)``."""
RegisterCommand = Callable[[click.Command], None]
"""What ``register_commands`` hands a plugin: ``register(command)``."""
RegisterModels = Callable[[str | os.PathLike[str]], None]
"""What ``register_models`` hands a plugin: ``register(migrations_folder)``."""
RegisterConsolePage = Callable[[ConsolePage], None]
"""What ``register_console_pages`` hands a plugin: ``register(page)``."""
RegisterSandbox = Callable[[Sandbox], None]
"""What ``register_sandbox`` hands a plugin: ``register(sandbox)``."""
Resource = dict[str, Any]


# ----- registration -----


@hookspec
def register_providers(register: RegisterProvider) -> None:
    """Register the plugin's :class:`hub.Provider`: name, title, config schema, auth, events.

    Runs in: start-up, once per process.
    """


@hookspec
def register_routes(register: RegisterRoute) -> None:
    """Register a Flask blueprint, mounted at ``/api/integrations/<plugin name>/``.

    ``register(blueprint)``. Routes are API-key authenticated unless wrapped with
    :func:`hub.public_route`, in which case the plugin verifies the request itself. The
    names ``connect``, ``callback``, ``connection``, ``test``, ``status``, ``analytics``,
    ``roi``, ``runs`` and ``webhooks`` belong to the core.

    Runs in: start-up, once per process.
    """


@hookspec
def register_jobs(register: RegisterJob) -> None:
    """Register recurring jobs: ``register(name, cron, function)``.

    ``cron`` is a five-field cron expression in UTC (a bad one stops start-up, naming it);
    ``function()`` runs in a worker inside an app context, once per slot across all
    workers. A function with a ``ctx`` parameter, ``function(ctx)``, is called instead once
    per enabled integration of the plugin, each with its own :class:`hub.PluginContext`.
    Every call has the run timeout (``HUB_RUN_TIMEOUT``); an exception is logged.

    Runs in: start-up, once per worker process.
    """


@hookspec
def register_commands(register: RegisterCommand) -> None:
    """Register click commands under ``hub <plugin name> ...``: ``register(command)``.

    Runs in: start-up of the ``hub`` command.
    """


@hookspec
def register_models(register: RegisterModels) -> None:
    """Register the folder of the plugin's Alembic migrations: ``register(path)``.

    The plugin's tables subclass :class:`hub.Model` and :class:`hub.OrgScoped`; its
    migrations are their own Alembic branch, applied by ``hub db upgrade``.

    Runs in: start-up and ``hub db upgrade``.
    """


@hookspec
def register_console_pages(register: RegisterConsolePage) -> None:
    """Register pages of the admin console: ``register(hub.ConsolePage(...))``.

    The console lists each page in its navigation and lays it out from the data: a table read
    from one of the plugin's GET routes, a form drawn from the body schema of one of its
    POST, PUT or PATCH routes (declared with :func:`hub.api_route`). Both are called through
    the public API with the signed-in admin's session; ``GET /api/plugins`` describes the
    pages (``console_pages``), with the form's fields. A bad page stops start-up, naming it.

    Runs in: start-up, once per process.
    """


@hookspec
def register_sandbox(register: RegisterSandbox) -> None:
    """Register an emulator of the plugin's provider: ``register(hub.Sandbox(...))``.

    ``hub up --sandbox`` starts it on loopback, points the plugin's settings at it and links
    its page from the console's Sandbox banner; without ``--sandbox`` it is never started.

    Runs in: ``hub up --sandbox``, once.
    """


# ----- events -----


@hookspec
def on_organization_updated(ctx: PluginContext, event: EventInfo, organization: Resource) -> None:
    """The organization's settings changed (its time zone, branding); ``organization`` is
    its new state. Runs in: worker."""


@hookspec
def on_client_created(ctx: PluginContext, event: EventInfo, client: Resource) -> None:
    """A client was created; ``client`` is the resource as the API renders it.

    Runs in: worker.
    """


@hookspec
def on_client_updated(ctx: PluginContext, event: EventInfo, client: Resource) -> None:
    """A client changed. Runs in: worker."""


@hookspec
def on_client_deleted(ctx: PluginContext, event: EventInfo, client: Resource) -> None:
    """A client was deleted; ``client`` is its last state. Runs in: worker."""


@hookspec
def on_service_type_created(ctx: PluginContext, event: EventInfo, service_type: Resource) -> None:
    """The agency added a service type (``{id, name, created_at}``): a plugin that keeps
    something per service (a folder) makes it. Runs in: worker."""


@hookspec
def on_service_type_updated(ctx: PluginContext, event: EventInfo, service_type: Resource) -> None:
    """A service type was renamed (``{id, name, created_at, previous_name}``): a plugin that
    keeps something named after it (a folder) renames it. Runs in: worker."""


@hookspec
def on_deliverable_created(ctx: PluginContext, event: EventInfo, deliverable: Resource) -> None:
    """A deliverable was created. Runs in: worker."""


@hookspec
def on_deliverable_updated(ctx: PluginContext, event: EventInfo, deliverable: Resource) -> None:
    """A deliverable changed. Runs in: worker."""


@hookspec
def on_deliverable_completed(ctx: PluginContext, event: EventInfo, deliverable: Resource) -> None:
    """A deliverable was completed (``completed_at``, ``completed_by`` are set).

    Runs in: worker.
    """


@hookspec
def on_deliverable_deleted(ctx: PluginContext, event: EventInfo, deliverable: Resource) -> None:
    """A deliverable was deleted; ``deliverable`` is its last state. Runs in: worker."""


@hookspec
def on_deliverable_due(ctx: PluginContext, event: EventInfo, deliverable: Resource) -> None:
    """A deliverable entered its organization's due-soon window (once per deliverable).

    Runs in: worker.
    """


@hookspec
def on_deliverable_overdue(ctx: PluginContext, event: EventInfo, deliverable: Resource) -> None:
    """A deliverable passed its due time unfinished (once per deliverable).

    Runs in: worker.
    """


@hookspec
def on_user_created(ctx: PluginContext, event: EventInfo, user: Resource) -> None:
    """A team member was added. Runs in: worker."""


@hookspec
def on_user_updated(ctx: PluginContext, event: EventInfo, user: Resource) -> None:
    """A team member changed. Runs in: worker."""


@hookspec
def on_user_deleted(ctx: PluginContext, event: EventInfo, user: Resource) -> None:
    """A team member was removed. Runs in: worker."""


@hookspec
def on_file_uploaded(ctx: PluginContext, event: EventInfo, file: Resource) -> None:
    """A file was uploaded for a client or deliverable. Runs in: worker."""


@hookspec
def on_integration_enabled(ctx: PluginContext, event: EventInfo, integration: Resource) -> None:
    """This plugin was enabled (or connected) for the organization. Runs in: worker."""


@hookspec
def on_integration_disabled(ctx: PluginContext, event: EventInfo, integration: Resource) -> None:
    """This plugin was disabled for the organization. Runs in: worker."""


@hookspec
def on_event(ctx: PluginContext, event: EventInfo) -> None:
    """Every event of the organization, for plugins that want them all (outgoing webhooks).

    Runs in: worker.
    """


# ----- collection -----


@hookspec
def health_check(ctx: PluginContext) -> HealthResult | None:
    """Check the integration works (credentials valid, service reachable).

    Runs in: worker (every 15 minutes) and web request (``POST .../test``).
    """


# ----- query -----


@hookspec(firstresult=True)
def refresh_token(ctx: PluginContext, token: Token) -> Token | None:
    """Exchange ``token``'s refresh token for a new token; ``None`` defers to the next plugin.

    Raise :class:`hub.NeedsReauth` when the provider refuses the grant.
    Runs in: worker, under a lock.
    """


@hookspec(firstresult=True)
def check_config(config: Resource, settings: Mapping[str, Any]) -> None:
    """Check a config an admin is saving against the outside world (connect, log in);
    raise :class:`hub.ValidationError` naming the field that is wrong.

    ``config`` is what would be stored, validated by the provider's schema, with secret
    fields in clear (those already stored included). No database transaction is open, so
    a slow server holds nothing up. Runs in: web request (``PUT``/``PATCH
    /api/integrations/<name>``), before anything is written.
    """


@hookspec(firstresult=True)
def prepare_disconnect(ctx: PluginContext) -> None:
    """An admin is disconnecting this integration: undo, with its still valid credentials,
    what lives at the provider on the organization's behalf (push channels, subscriptions).

    The hub revokes the tokens and forgets them right after, whatever this raises (it is
    logged). Runs in: web request (``DELETE /api/integrations/<name>/connection``), with no
    database transaction open.
    """


@hookspec(firstresult=True)
def send_test_message(ctx: PluginContext, user: Resource | None) -> str | None:
    """Send something that proves the integration works (a message, an email) to ``user``.

    Returns a short description of what was sent. Runs in: web request (``POST .../test``).
    """
