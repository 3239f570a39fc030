"""Test plugins for the dispatch tests: they record every hook call and can misbehave."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

from flask import Flask
from sqlalchemy import select

from hub import EventInfo, PluginContext, Provider, hookimpl
from hub.core.models import Event, Integration, Run
from hub.extensions import db

EVENT_HOOKS = (
    "on_organization_updated",
    "on_client_created",
    "on_client_updated",
    "on_client_deleted",
    "on_service_type_created",
    "on_service_type_updated",
    "on_deliverable_created",
    "on_deliverable_updated",
    "on_deliverable_completed",
    "on_deliverable_deleted",
    "on_deliverable_due",
    "on_deliverable_overdue",
    "on_user_created",
    "on_user_updated",
    "on_user_deleted",
    "on_file_uploaded",
    "on_integration_enabled",
    "on_integration_disabled",
    "on_event",
)

Behaviour = Callable[[str, EventInfo, PluginContext], Any]


@dataclass
class Call:
    hook: str
    event_id: str
    event_type: str
    org_id: int
    integration_id: int
    resource: dict[str, Any] | None


@dataclass
class RecordingPlugin:
    name: str
    obj: SimpleNamespace
    calls: list[Call] = field(default_factory=list)
    behaviour: Behaviour | None = None

    def hooks_called(self) -> list[tuple[str, str]]:
        return [(c.hook, c.event_type) for c in self.calls]


def _impl(hook: str, record: Callable[..., Any]) -> Callable[..., Any]:
    """A hook implementation with the spec's exact argument names (pluggy matches them)."""
    if hook == "on_event":

        def on_event(ctx: PluginContext, event: EventInfo) -> Any:
            return record(hook, ctx, event, None)

        return on_event
    noun = hook.removeprefix("on_").rsplit("_", 1)[0]
    makers: dict[str, Callable[..., Any]] = {
        "organization": lambda ctx, event, organization: record(hook, ctx, event, organization),
        "client": lambda ctx, event, client: record(hook, ctx, event, client),
        "service_type": lambda ctx, event, service_type: record(hook, ctx, event, service_type),
        "deliverable": lambda ctx, event, deliverable: record(hook, ctx, event, deliverable),
        "user": lambda ctx, event, user: record(hook, ctx, event, user),
        "file": lambda ctx, event, file: record(hook, ctx, event, file),
        "integration": lambda ctx, event, integration: record(hook, ctx, event, integration),
    }
    return makers[noun]


def make_plugin(
    name: str,
    hooks: tuple[str, ...] = ("on_client_created", "on_event"),
    behaviour: Behaviour | None = None,
    always_on: bool = False,
    db_only_hooks: bool = False,
) -> RecordingPlugin:
    """A plugin implementing `hooks`; each call is recorded, then `behaviour` runs."""
    plugin = RecordingPlugin(name, SimpleNamespace(), behaviour=behaviour)

    def record(hook: str, ctx: PluginContext, event: EventInfo, resource: Any) -> Any:
        plugin.calls.append(
            Call(hook, event.id, event.type, ctx.org.id, ctx.integration.id, resource)
        )
        return plugin.behaviour(hook, event, ctx) if plugin.behaviour else None

    provider = Provider(
        name=name, title=name.title(), always_on=always_on, db_only_hooks=db_only_hooks
    )
    plugin.obj.register_providers = hookimpl(lambda register: register(provider))
    for hook in hooks:
        setattr(plugin.obj, hook, hookimpl(_impl(hook, record)))
    return plugin


def runs_of(app: Flask, plugin: str | None = None) -> list[Run]:
    with app.app_context():
        stmt = select(Run).order_by(Run.id)
        if plugin is not None:
            stmt = stmt.where(Run.plugin == plugin)
        rows = list(db.session.scalars(stmt))
        db.session.remove()
        return rows


def integration_of(app: Flask, org_id: int, plugin: str) -> Integration:
    with app.app_context():
        row = db.session.scalar(
            select(Integration).where(Integration.org_id == org_id, Integration.plugin == plugin)
        )
        db.session.remove()
        assert row is not None
        return row


def events_of(app: Flask, type_: str | None = None) -> list[Event]:
    with app.app_context():
        stmt = select(Event).order_by(Event.seq)
        if type_ is not None:
            stmt = stmt.where(Event.type == type_)
        rows = list(db.session.scalars(stmt))
        db.session.remove()
        return rows
