"""What a new plugin is called, and why a name cannot be had."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import metadata

from hub.default_plugins import DEFAULT_PLUGINS
from hub.plugins import CORE_ROUTE_NAMES, NAME, PROJECT

# Longer names would push the generated code past the line length (the hub takes 64).
MAX_NAME = 40
# As JSON string literals, quotes included: each must fit one line of the generated code.
MAX_TITLE = 42
MAX_DESCRIPTION = 80


class NameRefused(ValueError):
    """A plugin cannot be made with this name, title, description or folder."""


@dataclass(frozen=True)
class PluginNames:
    """The names of one plugin: entry point, distribution, import package, config schema."""

    name: str
    title: str
    description: str

    @property
    def distribution(self) -> str:
        return "mycelium-" + self.name.replace("_", "-")

    @property
    def package(self) -> str:
        return "mycelium_" + self.name

    @property
    def config_class(self) -> str:
        return "".join(part.capitalize() for part in self.name.split("_") if part) + "Config"

    def substitutions(self) -> dict[str, str]:
        """What the template's ``$placeholders`` become."""
        major, minor = metadata.version("mycelium-hub").split(".")[:2]
        return {
            "name": self.name,
            "distribution": self.distribution,
            "package": self.package,
            "config_class": self.config_class,
            "title": self.title,
            "description": self.description,
            "title_literal": python_string(self.title),
            "description_literal": python_string(self.description),
            "description_toml": json.dumps(self.description, ensure_ascii=False),
            "hub_version": f"{major}.{minor}",
        }


def python_string(value: str) -> str:
    """`value` as a Python literal quoted as ruff's formatter quotes it: double quotes
    unless single ones need fewer escapes."""
    body = value.replace("\\", "\\\\")
    if value.count('"') > value.count("'"):
        return "'" + body.replace("'", "\\'") + "'"
    return '"' + body.replace('"', '\\"') + '"'


def installed_plugins() -> dict[str, str]:
    """Plugin names in use on this machine -> what has them (a distribution, the hub)."""
    found = {name: "the hub's built-in plugin" for name, _ in DEFAULT_PLUGINS}
    for entry_point in metadata.entry_points(group=PROJECT):
        dist = entry_point.dist
        owner = f"{dist.name} {dist.version}" if dist else entry_point.value
        found.setdefault(entry_point.name, f"the installed plugin of {owner}")
    return found


def check_name(name: str, hub_commands: Iterable[str]) -> None:
    """Refuse a name the hub would refuse, or one already taken here."""
    if not NAME.match(name):
        raise NameRefused(
            f"{name!r} is not a plugin name: a lowercase letter, then lowercase letters, "
            "digits and '_' (64 at most), e.g. google_calendar."
        )
    if len(name) > MAX_NAME:
        raise NameRefused(f"{name!r} is {len(name)} characters long; keep it to {MAX_NAME}.")
    if name in CORE_ROUTE_NAMES:
        raise NameRefused(
            f"{name!r} is taken: /api/integrations/{name} is the hub's own route "
            f"(taken: {', '.join(sorted(CORE_ROUTE_NAMES))})."
        )
    if name in set(hub_commands):
        raise NameRefused(
            f"{name!r} is taken: `hub {name}` is the hub's own command, so the plugin's "
            f"commands (`hub {name} ...`) could not be reached."
        )
    owner = installed_plugins().get(name)
    if owner is not None:
        raise NameRefused(f"{name!r} is taken: it is {owner}.")


def _check_text(option: str, value: str, longest: int) -> str:
    """One printable line whose string literal is at most `longest` characters."""
    value = value.strip()
    size = len(python_string(value))
    if not value or size > longest or not value.isprintable():
        raise NameRefused(
            f"--{option} must be one line of printable characters, at most {longest - 2} "
            f"(quotes and backslashes count twice); got {value!r}."
        )
    return value


def plugin_names(
    name: str, title: str | None, description: str | None, hub_commands: Iterable[str]
) -> PluginNames:
    """The names of a new plugin, every one checked; title and description have defaults."""
    check_name(name, hub_commands)
    title = _check_text("title", title or name.replace("_", " ").title(), MAX_TITLE)
    description = _check_text(
        "description", description or f"{title} for Mycelium Hub.", MAX_DESCRIPTION
    )
    return PluginNames(name, title, description)
