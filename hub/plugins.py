"""The plugin manager of one app: entry points, default plugins, and a typed facade."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import pluggy
from flask import Flask, current_app

from hub import hookspecs
from hub.default_plugins import load_default_plugins
from hub.errors import ConfigError
from hub.provider import Provider

log = logging.getLogger(__name__)
PROJECT = "mycelium"
hookimpl = pluggy.HookimplMarker(PROJECT)


@dataclass(frozen=True)
class PluginInfo:
    name: str
    distribution: str | None
    version: str | None
    builtin: bool


class Plugins:
    """Loads plugins and calls their hooks; the rest of the hub goes through this."""

    def __init__(self, load: tuple[str, ...] | None = None) -> None:
        self.pm = pluggy.PluginManager(PROJECT)
        self.pm.add_hookspecs(hookspecs)
        self.info: dict[str, PluginInfo] = {}
        self.providers: dict[str, Provider] = {}
        for name, module in load_default_plugins():
            self.add(module, name, PluginInfo(name, "mycelium-hub", None, builtin=True))
        for entry_point in metadata.entry_points(group=PROJECT):
            if load is None or entry_point.name in load:
                dist = entry_point.dist
                info = PluginInfo(
                    entry_point.name,
                    dist.name if dist else None,
                    dist.version if dist else None,
                    builtin=False,
                )
                self.add(entry_point.load(), entry_point.name, info)

    def add(self, plugin: object, name: str, info: PluginInfo | None = None) -> None:
        """Register a plugin object under `name` and collect the Provider it declares."""
        self.pm.register(plugin, name=name)
        self.pm.check_pending()
        self.info[name] = info or PluginInfo(name, None, None, builtin=False)
        found: list[Provider] = []
        self.call_one(name, "register_providers", register=found.append)
        for provider in found:
            if provider.name != name:
                raise ConfigError(f"plugin {name!r} registered a provider named {provider.name!r}")
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

    def migration_dirs(self) -> list[Path]:
        found: list[Any] = []
        self.call_all("register_models", register=found.append)
        return [Path(path) for path in found]


def get_plugins(app: Flask | None = None) -> Plugins:
    return (app or current_app).extensions["hub.plugins"]


def installed_migration_dirs() -> list[Path]:
    """Migration folders of every installed plugin (for `hub db upgrade` and tests)."""
    return Plugins().migration_dirs()
