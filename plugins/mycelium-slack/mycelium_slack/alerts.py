"""Messages for admin alerts, any other event, and the test message."""

from __future__ import annotations

from typing import Any

from mycelium_slack import messages
from mycelium_slack.blocks import Message, actions, button, escape, header, section
from mycelium_slack.messages import Frame, Resource

MAX_SUMMARY_FIELDS = 10
_SUMMARY_VALUE = 200


def _plugin_title(data: Resource) -> str:
    found = data.get("integration")
    integration: dict[str, Any] = found if isinstance(found, dict) else {}
    name = data.get("title") or data.get("plugin") or integration.get("plugin") or "An"
    return str(name)[:1].upper() + str(name)[1:]


def _reason(data: Resource) -> str:
    for key in ("reason", "disabled_reason", "last_error", "error", "message"):
        if data.get(key):
            return escape(data[key])
    return "No reason was given."


def _settings_button(frame: Frame, path: str) -> dict[str, Any]:
    return button("Open settings", frame.url(path), "open_settings", "primary")


def needs_reauth(data: Resource, frame: Frame) -> Message:
    """An integration's credentials were refused: an admin must reconnect it."""
    title = _plugin_title(data)
    text = f"🔑 The *{escape(title)}* integration needs to be reconnected.\n{_reason(data)}"
    return messages.framed(
        f"🔑 Reconnect {escape(title)}: its credentials were refused",
        frame,
        header("🔑 Integration needs reconnecting"),
        section(text),
        actions(_settings_button(frame, "settings/integrations")),
    )


def integration_disabled(data: Resource, frame: Frame) -> Message:
    """An integration was disabled, by an admin or after repeated errors."""
    title = _plugin_title(data)
    text = f"⛔ The *{escape(title)}* integration was disabled.\n{_reason(data)}"
    return messages.framed(
        f"⛔ {escape(title)} integration disabled",
        frame,
        header("⛔ Integration disabled"),
        section(text),
        actions(_settings_button(frame, "settings/integrations")),
    )


def endpoint_disabled(data: Resource, frame: Frame) -> Message:
    """A webhook endpoint was disabled after failing for days (or on 410 Gone)."""
    found = data.get("endpoint")
    endpoint: dict[str, Any] = found if isinstance(found, dict) else data
    url = endpoint.get("url") or "an endpoint"
    text = f"⛔ Webhook deliveries to `{escape(url)}` are stopped.\n{_reason(data)}"
    return messages.framed(
        f"⛔ Webhook endpoint disabled: {escape(url)}",
        frame,
        header("⛔ Webhook endpoint disabled"),
        section(text),
        actions(_settings_button(frame, "settings/webhooks")),
    )


def readable_type(event_type: str) -> str:
    """``client.updated`` -> ``Client updated``."""
    words = event_type.replace(".", " ").replace("_", " ").strip()
    return words[:1].upper() + words[1:] if words else "Event"


def _summary_value(value: Any) -> str | None:
    if isinstance(value, dict):
        value = value.get("name") or value.get("title") or value.get("id")
    if value is None or value == "" or isinstance(value, list | dict):
        return None
    text = str(value)
    return escape(text if len(text) <= _SUMMARY_VALUE else text[:_SUMMARY_VALUE] + "…")


def default(event_type: str, data: Resource, frame: Frame) -> Message:
    """Any other event: its type and its plainest fields, readable."""
    pairs = [(readable_type(k), v) for k, v in data.items() if _summary_value(v) is not None]
    fields = [(label, _summary_value(value) or "") for label, value in pairs]
    title = readable_type(event_type)
    subject = _summary_value(data.get("name") or data.get("title")) or ""
    return messages.framed(
        f"📢 {escape(title)}{': ' + subject if subject else ''}",
        frame,
        header(f"📢 {title}"),
        section(
            f"*{escape(title)}*" + (f": {subject}" if subject else ""), fields[:MAX_SUMMARY_FIELDS]
        ),
    )


def test_message(frame: Frame, channel: str, user: Resource | None) -> Message:
    """Proof that the integration works, sent on connect and by ``POST .../test``."""
    asked = f" (asked by {frame.mention(user)})" if user else ""
    text = f"👋 Mycelium Hub is connected: notifications will arrive in {escape(channel)}{asked}."
    return messages.framed(text, frame, section(text))


BUILDERS = {
    "deliverable.due_soon": messages.deliverable_due,
    "deliverable.overdue": messages.deliverable_overdue,
    "deliverable.completed": messages.deliverable_completed,
    "client.created": messages.client_created,
    "integration.needs_reauth": needs_reauth,
    "integration.disabled": integration_disabled,
    "webhook.endpoint_disabled": endpoint_disabled,
}


def for_event(event_type: str, data: Resource, frame: Frame) -> Message:
    """The message for an event: its own builder, or the readable default."""
    builder = BUILDERS.get(event_type)
    return builder(data, frame) if builder else default(event_type, data, frame)
