"""An example plugin for Mycelium Hub: keeps a note for every new client.

The module is a list of hook implementations that delegate to small helpers; the hub
finds it through the ``mycelium`` entry point in pyproject.toml.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import hub
from mycelium_example.config import ExampleConfig
from mycelium_example.notes import add_note
from mycelium_example.routes import blueprint
from mycelium_example.sandbox import NotesSandbox

__version__ = "0.1.0"

PROVIDER = hub.Provider(
    name="example",
    title="Example notes",
    description="Keeps a note for every new client; shows the plugin interface.",
    version=__version__,
    config_schema=ExampleConfig,
    auth="credentials",
    events=("client.created",),
    rate_limits=hub.RateLimits(per_minute=120),
    settings=(hub.Setting("EXAMPLE_GREETING", "Hello", "How notes begin."),),
)


@hub.hookimpl
def register_providers(register: hub.RegisterProvider) -> None:
    register(PROVIDER)


@hub.hookimpl
def register_routes(register: hub.RegisterRoute) -> None:
    register(blueprint)


@hub.hookimpl
def register_models(register: hub.RegisterModels) -> None:
    register(Path(__file__).parent / "migrations" / "versions")


@hub.hookimpl
def register_sandbox(register: hub.RegisterSandbox) -> None:
    """`hub up --sandbox` runs NotesSandbox on loopback and links its page."""
    register(hub.Sandbox(title="Example notes", start=NotesSandbox))


@hub.hookimpl
def on_client_created(ctx: hub.PluginContext, event: hub.EventInfo, client: dict[str, Any]) -> None:
    """A note per new client; the event id makes a repeated run harmless."""
    add_note(ctx, f"{ctx.setting('EXAMPLE_GREETING')}, {client['name']}!", event.id)


@hub.hookimpl
def health_check(ctx: hub.PluginContext) -> hub.HealthResult:
    if not ctx.secret("signing_secret"):
        return hub.HealthResult(ok=False, message="No signing secret is set.")
    return hub.HealthResult(ok=True, message=f"Notes go to {ctx.config['api_url']}.")


@hub.hookimpl
def send_test_message(ctx: hub.PluginContext, user: dict[str, Any] | None) -> str:
    who = user["email"] if user else "the organization"
    add_note(ctx, f"Test note for {who}.", None)
    return f"a test note for {who}"
