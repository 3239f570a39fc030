"""Who gets which email when something happens in the agency."""

from __future__ import annotations

from typing import Any

from hub import EventInfo, PluginContext
from mycelium_smtp import directory, preferences
from mycelium_smtp.compose import Outgoing, queue_email
from mycelium_smtp.config import normalized
from mycelium_smtp.directory import Person
from mycelium_smtp.reports import when

# Events that make the admins an email (the hub's own and this plugin's).
ALERTS = {
    "integration.needs_reauth": "{plugin} needs reconnecting",
    "integration.disabled": "{plugin} was disabled",
    "webhook.endpoint_disabled": "A webhook endpoint was disabled",
    "email.failed": "An email could not be delivered",
}


def _address(person: Person) -> str:
    return person.email


def _link(ctx: PluginContext, path: str) -> str:
    base = str(ctx.setting("HUB_CLIENT_URL") or ctx.setting("HUB_APP_URL") or "")
    return f"{base.rstrip('/')}/{path.lstrip('/')}"


def _deliverable_variables(ctx: PluginContext, deliverable: dict[str, Any]) -> dict[str, Any]:
    tz = ctx.org.timezone
    assignee = deliverable.get("assignee") or {}
    completed_by = deliverable.get("completed_by") or {}
    return {
        "deliverable_title": deliverable.get("title") or "",
        "client_name": deliverable.get("client_name") or "",
        "due_at": when(deliverable.get("due_at"), tz),
        "priority": deliverable.get("priority") or "",
        "assignee_name": assignee.get("name") or "",
        "deliverable_url": _link(ctx, f"deliverables/{deliverable.get('id')}"),
        "completed_by_name": completed_by.get("name") or "",
        "completed_at": when(deliverable.get("completed_at"), tz),
    }


def _to_person(
    ctx: PluginContext,
    event: EventInfo,
    kind: str,
    person: Person,
    variables: dict[str, Any],
    priority: str = "normal",
) -> bool:
    if not preferences.wants(ctx.db, ctx.org.id, person, kind):
        return False
    out = Outgoing(
        template=kind,
        variables={**variables, "recipient_name": person.name},
        to=[_address(person)],
        priority=priority,
        dedupe_key=f"{event.id}:{kind}:{person.id}",
        fail_if_unrenderable=True,
    )
    queue_email(ctx, out)
    return True


def deliverable_reminder(
    ctx: PluginContext, event: EventInfo, deliverable: dict[str, Any], kind: str
) -> bool:
    """Due soon or overdue: to the assignee, if there is one and they want notifications."""
    assignee_id = (deliverable.get("assignee") or {}).get("id") or deliverable.get("assignee_id")
    person = directory.person(ctx.db, ctx.org.id, int(assignee_id)) if assignee_id else None
    if person is None:
        return False
    variables = _deliverable_variables(ctx, deliverable)
    variables.pop("completed_by_name"), variables.pop("completed_at")
    priority = "high" if kind == "deliverable_overdue" else "normal"
    return _to_person(ctx, event, kind, person, variables, priority)


def deliverable_completed(ctx: PluginContext, event: EventInfo, deliverable: dict[str, Any]) -> int:
    """Completed: to every admin who wants notifications."""
    variables = _deliverable_variables(ctx, deliverable)
    kind = "deliverable_completed"
    return sum(
        _to_person(ctx, event, kind, a, variables) for a in directory.admins(ctx.db, ctx.org.id)
    )


def client_welcome(ctx: PluginContext, event: EventInfo, client: dict[str, Any]) -> bool:
    """A new client's contact is welcomed, when the organization turned it on."""
    if not normalized(ctx.config)["send_client_welcome"] or not client.get("contact_email"):
        return False
    services = [s.get("name", "") for s in client.get("service_types") or []]
    contact = client.get("contact_person") or ""
    out = Outgoing(
        template="client_welcome",
        variables={
            "client_name": client.get("name") or "",
            "contact_name": contact,
            "services": services,
            "recipient_name": contact,
        },
        to=[client["contact_email"]],
        dedupe_key=f"{event.id}:client_welcome",
        fail_if_unrenderable=True,
    )
    queue_email(ctx, out)
    return True


def admin_alert(ctx: PluginContext, event: EventInfo) -> int:
    """An integration or endpoint needs attention: every admin is told."""
    title = ALERTS.get(event.type)
    if title is None:
        return 0
    data = event.data or {}
    variables = {
        "alert_title": title.format(plugin=data.get("plugin") or "An integration"),
        "alert_message": _alert_message(event),
        "event_type": event.type,
        "action_url": _link(ctx, "settings/integrations"),
    }
    admins = directory.admins(ctx.db, ctx.org.id)
    return sum(_to_person(ctx, event, "admin_alert", a, variables, "high") for a in admins)


def _alert_message(event: EventInfo) -> str:
    data = event.data or {}
    endpoint = data.get("endpoint")
    url = endpoint.get("url") if isinstance(endpoint, dict) else None
    where = f"{url}: " if url else ""
    for key in ("disabled_reason", "error", "reason", "last_error", "message"):
        if data.get(key):
            return f"{where}{data[key]}"
    return f"{where}Event {event.type} at {event.created_at:%Y-%m-%d %H:%M} UTC."


def welcome_admins(ctx: PluginContext, event: EventInfo) -> int:
    """Email was just set up: a first branded email to the admins proves it."""
    sender = normalized(ctx.config)["from_address"]
    variables = {
        "alert_title": "Email is set up",
        "alert_message": f"{ctx.org.display_name} now sends its email from {sender}.",
        "event_type": event.type,
        "action_url": _link(ctx, "settings/integrations"),
    }
    admins = directory.admins(ctx.db, ctx.org.id)
    return sum(_to_person(ctx, event, "admin_alert", a, variables, "high") for a in admins)
