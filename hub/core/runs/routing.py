"""Which hooks a run of an event calls, for which integrations: the event's own hook
(``client.created`` -> ``on_client_created``) and ``on_event``, looked up once per batch.
"""

from __future__ import annotations

from typing import Any

from hub.core.connections.context import PluginManager
from hub.core.models import Event, Integration


def target_plugin(event: Event) -> str | None:
    """The plugin an ``integration.*`` event is about: only it gets the event's own hook."""
    if event.type.startswith("integration."):
        plugin = (event.payload or {}).get("plugin")
        return plugin if isinstance(plugin, str) else None
    return None


class HookTable:
    """The event hooks each plugin implements, looked up once per batch (pluggy's is slow)."""

    def __init__(self, plugins: PluginManager) -> None:
        self.plugins = plugins
        self._found: dict[tuple[str, str], list[str]] = {}

    def event_hooks(self, plugin: str, event_type: str) -> list[str]:
        key = (plugin, event_type)
        if key not in self._found:
            self._found[key] = self.plugins.event_hooks(plugin, event_type)
        return self._found[key]


def hooks_to_call(
    table: HookTable, integration: Integration, event: Event
) -> list[tuple[str, dict[str, Any]]]:
    """(hook, resource kwargs) a run of `event` calls: its event hook, then on_event.

    The resource is named after the event type's noun: ``client.created`` passes ``client=``,
    as the API renders it (who acted stays in ``event.data["actor"]``).
    A disabled integration hears only news about itself (``on_integration_disabled``).
    """
    target = target_plugin(event)
    noun = event.type.partition(".")[0]
    calls: list[tuple[str, dict[str, Any]]] = []
    for hook in table.event_hooks(integration.plugin, event.type):
        if hook == "on_event" and integration.enabled:
            calls.append((hook, {}))
        elif hook != "on_event" and target in (None, integration.plugin):
            resource = {k: v for k, v in event.payload.items() if k != "actor"}
            calls.append((hook, {noun: resource}))
    return calls


def wants(table: HookTable, integration: Integration, event: Event) -> bool:
    """Does this integration get a run of `event`? (a disabled one only for news about itself)"""
    if integration.plugin not in table.plugins.providers:
        return False
    if not integration.enabled and target_plugin(event) != integration.plugin:
        return False
    return bool(hooks_to_call(table, integration, event))
