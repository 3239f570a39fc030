"""Built-in behaviour registered through the same plugin manager as third parties."""

from __future__ import annotations

from types import ModuleType

# (plugin name, module path); always registered, whatever HUB_LOAD_PLUGINS says.
DEFAULT_PLUGINS: list[tuple[str, str]] = [
    ("oauth_refresh", "hub.default_plugins.oauth_refresh"),
    ("webhooks", "hub.default_plugins.webhooks"),
]


def load_default_plugins() -> list[tuple[str, ModuleType]]:
    import importlib

    return [(name, importlib.import_module(path)) for name, path in DEFAULT_PLUGINS]
