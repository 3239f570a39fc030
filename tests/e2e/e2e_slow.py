"""End-to-end test plugin `slow` (HUB_EXTRA_PLUGINS=slow=e2e_slow): its `on_client_created`
takes E2E_SLOW_SECONDS, so a test can act while a worker is in the middle of a job. Each
call appends ``start <event id>`` and ``done <event id>`` lines to E2E_RECORD_DIR/slow.log."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Any

from hub import EventInfo, PluginContext, Provider, hookimpl


def _note(word: str, event: EventInfo) -> None:
    with open(os.path.join(os.environ["E2E_RECORD_DIR"], "slow.log"), "a") as out:
        out.write(f"{word} {event.id}\n")


@hookimpl
def register_providers(register: Callable[[Provider], None]) -> None:
    register(Provider(name="slow", title="Slow"))


@hookimpl
def on_client_created(ctx: PluginContext, event: EventInfo, client: dict[str, Any]) -> None:
    _note("start", event)
    time.sleep(float(os.environ.get("E2E_SLOW_SECONDS", "3")))
    _note("done", event)
