"""The plugin manager of one app: entry points, default plugins, and a typed facade.

The rest of the hub calls hooks only through :class:`Plugins`' methods (``health_check``,
``send_test_message``, ``refresh_token``, ``dispatch``, ``routes``, ``jobs``, ...), never
``pm.hook.<name>`` directly, and always one plugin at a time for per-organization hooks.
"""

from __future__ import annotations

import importlib
import logging
import os
import re
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
import pluggy
from croniter import croniter
from flask import Blueprint, Flask, current_app

from hub import hookspecs
from hub.default_plugins import load_default_plugins
from hub.errors import ConfigError
from hub.provider import ConsolePage, HealthResult, Provider, Sandbox, Token

if TYPE_CHECKING:
    from hub.context import PluginContext

log = logging.getLogger(__name__)
PROJECT = "mycelium"
hookimpl = pluggy.HookimplMarker(PROJECT)
"""Marks a plugin's function as the implementation of the hook it is named after."""

# Path segments under /api/integrations/<name>/ that the core keeps for itself; also
# refused as plugin names, since /api/integrations/<segment> is the core's.
CORE_ROUTE_NAMES = frozenset(
    (
        "connect",
        "authorize",
        "callback",
        "connection",
        "test",
        "status",
        "analytics",
        "roi",
        "runs",
        "webhooks",
    )
)
NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
# Event types whose hook is not simply on_<noun>_<verb>.
EVENT_HOOK_NAMES = {"deliverable.due_soon": "on_deliverable_due"}


@dataclass(frozen=True)
class PluginInfo:
    name: str
    distribution: str | None
    version: str | None
    builtin: bool


@dataclass(frozen=True)
class Job:
    """A recurring job a plugin registered: ``function()`` runs at each ``cron`` slot (UTC)."""

    plugin: str
    name: str
    cron: str
    function: Callable[[], Any]


def hook_for_event(event_type: str) -> str:
    """The event hook an event type calls: ``client.created`` -> ``on_client_created``."""
    return EVENT_HOOK_NAMES.get(event_type, "on_" + event_type.replace(".", "_"))


class Plugins:
    """Loads plugins and calls their hooks; the rest of the hub goes through this."""

    def __init__(
        self, load: tuple[str, ...] | None = None, extra: tuple[tuple[str, str], ...] = ()
    ) -> None:
        """Default plugins always; installed ones named by `load` (None: all); `extra`
        (HUB_EXTRA_PLUGINS) are (name, module) pairs imported as plugins."""
        self.pm = pluggy.PluginManager(PROJECT)
        self.pm.add_hookspecs(hookspecs)
        self.info: dict[str, PluginInfo] = {}
        self.providers: dict[str, Provider] = {}
        for name, module in load_default_plugins():
            self.add(module, name, PluginInfo(name, "mycelium-hub", None, builtin=True))
        for entry_point, (dist, version) in _entry_points(load, set(self.info)):
            info = PluginInfo(entry_point.name, dist, version, builtin=False)
            self.add(_load(entry_point), entry_point.name, info)
        for name, module_name in extra:
            self.add(_import(name, module_name), name)

    # ----- registry -----

    def add(self, plugin: object, name: str, info: PluginInfo | None = None) -> None:
        """Register a plugin object under `name` and collect the Provider it declares."""
        info = info or PluginInfo(name, None, None, builtin=False)
        # the built-in outgoing webhooks plugin is the one that may be called "webhooks"
        reserved = CORE_ROUTE_NAMES - {"webhooks"} if info.builtin else CORE_ROUTE_NAMES
        if not NAME.match(name) or name in reserved:
            raise ConfigError(
                f"plugin name {name!r} must be lowercase letters, digits and '_', "
                f"and not one of the core's names ({', '.join(sorted(reserved))})"
            )
        try:
            self.pm.register(plugin, name=name)
            self.pm.check_pending()
        except (pluggy.PluginValidationError, ValueError) as exc:
            if self.pm.get_plugin(name) is plugin:
                self.pm.unregister(name=name)
            raise ConfigError(f"plugin {name!r} is invalid: {exc}") from exc
        self.info[name] = info
        self._collect_provider(name)
        try:
            self.console_pages(name)  # a malformed page stops start-up, naming it
        except ConfigError:
            self.remove(name)
            raise

    def _collect_provider(self, name: str) -> None:
        found: list[Any] = []
        self.call_one(name, "register_providers", register=found.append)
        for provider in found:
            if not isinstance(provider, Provider) or provider.name != name:
                self.remove(name)
                raise ConfigError(f"plugin {name!r} must register a Provider named {name!r}")
            self.providers[name] = provider

    def remove(self, name: str) -> None:
        self.pm.unregister(name=name)
        self.info.pop(name, None)
        self.providers.pop(name, None)

    def names(self) -> list[str]:
        return sorted(self.info)

    def provider(self, name: str) -> Provider | None:
        return self.providers.get(name)

    def hooks_of(self, name: str) -> list[str]:
        plugin = self.pm.get_plugin(name)
        callers = self.pm.get_hookcallers(plugin) or [] if plugin is not None else []
        return sorted(caller.name for caller in callers)

    def implements(self, name: str, hook: str) -> bool:
        return hook in self.hooks_of(name)

    def call_one(self, name: str, hook: str, **kwargs: Any) -> Any:
        """Call one plugin's implementation of `hook` (None if it has none)."""
        for impl in getattr(self.pm.hook, hook).get_hookimpls():
            if impl.plugin_name == name:
                return impl.function(**{arg: kwargs[arg] for arg in impl.argnames})
        return None

    def call_all(self, hook: str, **kwargs: Any) -> list[Any]:
        return list(getattr(self.pm.hook, hook)(**kwargs))

    # ----- registration hooks -----

    def _registered(self, name: str, hook: str) -> list[tuple[Any, ...]]:
        calls: list[tuple[Any, ...]] = []
        self.call_one(name, hook, register=lambda *args: calls.append(args))
        return calls

    def routes(self, name: str) -> list[Blueprint]:
        """The blueprints `name` registers (mounted at /api/integrations/<name>/)."""
        blueprints = [args[0] for args in self._registered(name, "register_routes")]
        for blueprint in blueprints:
            if not isinstance(blueprint, Blueprint):
                raise ConfigError(f"plugin {name!r} registered a route that is not a Blueprint")
        return blueprints

    def commands(self, name: str) -> list[click.Command]:
        """The click commands `name` registers (under ``hub <name> ...``)."""
        commands = [args[0] for args in self._registered(name, "register_commands")]
        for command in commands:
            if not isinstance(command, click.Command):
                raise ConfigError(f"plugin {name!r} registered a command that is not click's")
        return commands

    def console_pages(self, name: str) -> list[ConsolePage]:
        """The console pages `name` registers; a malformed one stops start-up naming it."""
        pages = [args[0] for args in self._registered(name, "register_console_pages")]
        for page in pages:
            problem = _console_page_problem(page)
            if problem:
                raise ConfigError(f"plugin {name!r}: console page {page!r}: {problem}")
        return pages

    def sandboxes(self) -> dict[str, Sandbox]:
        """Each plugin's sandbox (``register_sandbox``), by plugin name; a plugin registers
        one at most, and anything but a ``hub.Sandbox`` stops start-up, naming it."""
        found: dict[str, Sandbox] = {}
        for name in self.names():
            registered = [args[0] for args in self._registered(name, "register_sandbox")]
            if len(registered) > 1:
                raise ConfigError(f"plugin {name!r} registered more than one sandbox")
            for sandbox in registered:
                if not isinstance(sandbox, Sandbox) or not sandbox.page.startswith("/"):
                    raise ConfigError(f"plugin {name!r}: sandbox {sandbox!r} is not a hub.Sandbox")
                found[name] = sandbox
        return found

    def jobs(self) -> list[Job]:
        """Every plugin's recurring jobs; a bad cron expression stops start-up naming it."""
        jobs = []
        for name in self.names():
            for job_name, cron, function in self._registered(name, "register_jobs"):
                if not croniter.is_valid(cron) or not callable(function):
                    raise ConfigError(f"plugin {name!r}: job {job_name!r} has a bad cron {cron!r}")
                jobs.append(Job(name, job_name, cron, function))
        return jobs

    def migration_dirs(self) -> list[Path]:
        """Every plugin's Alembic version folder (one branch per plugin)."""
        dirs = []
        for name in self.names():
            for (path,) in self._registered(name, "register_models"):
                if not Path(path).is_dir():
                    raise ConfigError(f"plugin {name!r}: migrations folder {path} is missing")
                dirs.append(Path(path))
        return dirs

    # ----- per-integration hooks -----

    def health_check(self, name: str, ctx: PluginContext) -> HealthResult | None:
        """`name`'s health check for one integration (None when it has none)."""
        result = self.call_one(name, "health_check", ctx=ctx)
        if result is None or isinstance(result, HealthResult):
            return result
        if isinstance(result, bool):
            return HealthResult(ok=result)
        raise TypeError(f"plugin {name!r}: health_check returned {type(result).__name__}")

    def check_config(self, name: str, config: dict[str, Any], settings: Mapping[str, Any]) -> None:
        """`name`'s check of a config about to be saved (raises ValidationError)."""
        self.call_one(name, "check_config", config=config, settings=settings)

    def send_test_message(
        self, name: str, ctx: PluginContext, user: dict[str, Any] | None
    ) -> str | None:
        """Send `name`'s test message to `user`; a description of what was sent."""
        result = self.call_one(name, "send_test_message", ctx=ctx, user=user)
        return None if result is None else str(result)

    def prepare_disconnect(self, name: str, ctx: PluginContext) -> None:
        """`name`'s clean-up at the provider before its tokens are revoked."""
        self.call_one(name, "prepare_disconnect", ctx=ctx)

    def refresh_token(self, name: str, ctx: PluginContext, token: Token) -> Token | None:
        """`name`'s token refresh; when it has none (or answers None), the built-in plugins'
        (the standard OAuth 2.0 refresh grant). None: nobody refreshed."""
        result = None
        for owner in [name, *self._builtins_implementing("refresh_token")]:
            result = self.call_one(owner, "refresh_token", ctx=ctx, token=token)
            if result is not None:
                break
        if result is not None and not isinstance(result, Token):
            raise TypeError(f"plugin {name!r}: refresh_token returned {type(result).__name__}")
        return result

    def _builtins_implementing(self, hook: str) -> list[str]:
        return [n for n, info in self.info.items() if info.builtin and self.implements(n, hook)]

    def dispatch(self, name: str, hook: str, **kwargs: Any) -> None:
        """Call one plugin's event hook (``on_*``) with ``ctx``, ``event`` and the resource."""
        if not hook.startswith("on_") or not hasattr(hookspecs, hook):
            raise ValueError(f"{hook!r} is not an event hook")
        self.call_one(name, hook, **kwargs)

    def event_hooks(self, name: str, event_type: str) -> list[str]:
        """The hooks of `name` an event of `event_type` calls, in order ([] if none)."""
        hooks = [hook_for_event(event_type), "on_event"]
        return [hook for hook in dict.fromkeys(hooks) if self.implements(name, hook)]


def _entry_points(
    load: tuple[str, ...] | None, defaults: set[str]
) -> list[tuple[metadata.EntryPoint, tuple[str | None, str | None]]]:
    """Installed plugins' entry points (first on sys.path wins), filtered by HUB_LOAD_PLUGINS."""
    found: dict[str, metadata.EntryPoint] = {}
    discovered = _discovered()
    for entry_point in discovered:
        found.setdefault(entry_point.name, entry_point)
    unknown = sorted(set(load or ()) - set(found) - defaults)
    if unknown:
        raise ConfigError(
            f"HUB_LOAD_PLUGINS names {', '.join(unknown)}, not installed "
            f"(installed: {', '.join(sorted(found)) or 'none'})"
        )
    chosen = [ep for name, ep in sorted(found.items()) if load is None or name in load]
    return [(ep, discovered[ep]) for ep in chosen]


def _load(entry_point: metadata.EntryPoint) -> object:
    try:
        return entry_point.load()
    except Exception as exc:  # a broken plugin stops start-up with its name
        raise ConfigError(f"plugin {entry_point.name!r} failed to import: {exc!r}") from exc


def _import(name: str, module_name: str) -> object:
    try:
        return importlib.import_module(module_name)
    except Exception as exc:
        raise ConfigError(f"HUB_EXTRA_PLUGINS: {name}={module_name} failed: {exc!r}") from exc


PathState = tuple[tuple[str, int | None], ...]
Found = dict[metadata.EntryPoint, tuple[str | None, str | None]]
# the entry points of the hub's group, each with its distribution's name and version, as
# found for one state of sys.path (see _discovered)
_DISCOVERED: dict[PathState, Found] = {}


def _path_state() -> PathState:
    """sys.path with each folder's modification time: installing or removing a
    distribution adds or removes a folder (its ``.dist-info``) in one of them."""
    state: list[tuple[str, int | None]] = []
    for entry in sys.path:
        try:
            state.append((entry, os.stat(entry or ".").st_mtime_ns))
        except OSError:
            state.append((entry, None))
    return tuple(state)


def _discovered() -> Found:
    """The hub's entry points, each with its distribution's name and version, read once
    per state of sys.path.

    Finding them reads every installed distribution's metadata: a fifth of ``create_app``,
    paid again for every app a process makes (tests make one per test). A plugin installed
    or removed since, or a folder put on sys.path, is found at the next app.
    """
    key = _path_state()
    found = _DISCOVERED.get(key)
    if found is None:
        found = {}
        for entry_point in metadata.entry_points(group=PROJECT):  # the first on sys.path wins
            found.setdefault(entry_point, _dist_of(entry_point))
        _DISCOVERED.clear()
        _DISCOVERED[key] = found
    return found


def _dist_of(entry_point: metadata.EntryPoint) -> tuple[str | None, str | None]:
    dist = entry_point.dist
    return (dist.name, dist.version) if dist else (None, None)


def get_plugins(app: Flask | None = None) -> Plugins:
    return (app or current_app).extensions["hub.plugins"]


def installed_migration_dirs() -> list[Path]:
    """Migration folders of every installed plugin (for `hub db upgrade` and tests)."""
    return Plugins().migration_dirs()


_PAGE_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")
_FORM = re.compile(r"(POST|PUT|PATCH) [A-Za-z0-9_./<>:-]*")
_PREVIEW = re.compile(r"POST [A-Za-z0-9_./<>:-]*")
_PLACEHOLDER = re.compile(r"<([^<>]*)>")


def _console_page_problem(page: object) -> str | None:
    """Why `page` cannot be laid out, or None."""
    if not isinstance(page, ConsolePage):
        return "not a hub.ConsolePage"
    if not _PAGE_NAME.fullmatch(page.name):
        return "its name must be 1-64 letters, digits, '-' or '_'"
    if not page.title:
        return "it needs a title"
    if page.form and not _FORM.fullmatch(page.form):
        return "its form must be 'POST <route>', 'PUT <route>' or 'PATCH <route>'"
    if not page.source and not page.form:
        return "it needs a source, a form, or both"
    return _preview_problem(page) or _key_problem(page)


def _preview_problem(page: ConsolePage) -> str | None:
    if page.preview and not _PREVIEW.fullmatch(page.preview):
        return "its preview must be 'POST <route>'"
    if (page.preview or page.item) and not page.form:
        return "a preview or an item goes with a form: it needs a form"
    return None


def _key_problem(page: ConsolePage) -> str | None:
    """Every ``<...>`` in the page's routes is its key, and a key needs a source to pick from."""
    routes = (page.form, page.item, page.preview)
    named = {found for route in routes for found in _PLACEHOLDER.findall(route)}
    if named - {page.key}:
        return f"its routes name {sorted(named)}: set key to the item field they stand for"
    if page.key and not page.source:
        return "a key picks one of the source's items: it needs a source"
    return None
