"""Hooks for the end-to-end test plugins: each call appends a line to a file (not Redis,
which the test flushes): ``<plugin> <hook> <event id> <org id>``."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from hub import EventInfo, PluginContext, Provider, hookimpl


def _record(plugin: str, hook: str, ctx: PluginContext, event: EventInfo) -> None:
    folder = os.environ.get("E2E_RECORD_DIR")
    if not folder:
        return
    line = f"{plugin} {hook} {event.id} {ctx.org.id}\n"
    with open(os.path.join(folder, f"{plugin}-{os.getpid()}.log"), "a") as out:
        out.write(line)


def hooks(plugin: str) -> tuple[Callable[..., Any], ...]:
    """register_providers, on_client_created and on_event of a plugin named `plugin`."""

    @hookimpl
    def register_providers(register: Callable[[Provider], None]) -> None:
        register(Provider(name=plugin, title=plugin.title()))

    @hookimpl
    def on_client_created(ctx: PluginContext, event: EventInfo, client: dict[str, Any]) -> None:
        _record(plugin, "on_client_created", ctx, event)

    @hookimpl
    def on_event(ctx: PluginContext, event: EventInfo) -> None:
        _record(plugin, "on_event", ctx, event)

    return register_providers, on_client_created, on_event
