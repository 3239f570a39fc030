"""Test plugin `flaky` (HUB_EXTRA_PLUGINS=flaky=console_flaky): its client hook fails for
good while the file named by CONSOLE_FLAKY_FLAG exists, and succeeds once it is gone."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from hub import EventInfo, PermanentError, PluginContext, Provider, hookimpl


@hookimpl
def register_providers(register: Callable[[Provider], None]) -> None:
    register(Provider(name="flaky", title="Flaky", description="Fails while a flag file exists."))


@hookimpl
def on_client_created(ctx: PluginContext, event: EventInfo, client: dict[str, Any]) -> None:
    flag = os.environ.get("CONSOLE_FLAKY_FLAG", "")
    if flag and os.path.exists(flag):
        raise PermanentError("the flag file says fail")
