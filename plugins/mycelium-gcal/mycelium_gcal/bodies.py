"""Event bodies as Google takes them, built from the hub's resources (pure functions).

Times are written in the organization's time zone, never a fixed one: ``dateTime`` with
the zone's offset at that instant plus ``timeZone``. Durations are added to the instant
(in UTC), not to the wall clock: a 60-minute deadline at 01:30 on the night the clocks go
back ends at 01:30 in the second hour, not at 02:30.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

DEADLINE_MARK = "deadline"
MEETING_MARK = "meeting"
POPUP_MINUTES = 15


def parse_instant(value: str) -> datetime:
    """An RFC 3339 / ISO 8601 time with an offset, as an aware UTC datetime."""
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        raise ValueError(f"{value!r} has no offset")
    return parsed.astimezone(UTC)


def event_time(instant: datetime, timezone: str) -> dict[str, str]:
    """Google's EventDateTime for `instant`, shown in `timezone`."""
    local = instant.astimezone(ZoneInfo(timezone))
    return {"dateTime": local.isoformat(), "timeZone": timezone}


def span(start: datetime, minutes: int, timezone: str) -> dict[str, dict[str, str]]:
    """``start`` and ``end`` of an event lasting `minutes` of real time."""
    begin = start.astimezone(UTC)
    end = begin + timedelta(minutes=minutes)
    return {"start": event_time(begin, timezone), "end": event_time(end, timezone)}


def _person(person: dict[str, Any] | None) -> str:
    if not person:
        return "nobody yet"
    name, email = person.get("name") or "", person.get("email") or ""
    return f"{name} <{email}>" if name and email else name or email or "nobody yet"


def deadline_description(deliverable: dict[str, Any], link: str | None) -> str:
    lines = [
        f"Client: {deliverable.get('client_name') or '-'}",
        f"Service: {deliverable.get('service_type_name') or '-'}",
        f"Assigned to: {_person(deliverable.get('assignee'))}",
    ]
    if deliverable.get("description"):
        lines += ["", str(deliverable["description"])]
    if link:
        lines += ["", f"Open in Mycelium: {link}"]
    return "\n".join(lines)


def _reminders(minutes: int, completed: bool) -> dict[str, Any]:
    if completed:  # nothing left to be reminded of
        return {"useDefault": False, "overrides": []}
    overrides = [
        {"method": "email", "minutes": minutes},
        {"method": "popup", "minutes": POPUP_MINUTES},
    ]
    return {"useDefault": False, "overrides": overrides}


def _attendees(person: dict[str, Any] | None) -> list[dict[str, str]]:
    if not person or not person.get("email"):
        return []
    return [{"email": str(person["email"]), "displayName": str(person.get("name") or "")}]


def deadline_body(
    deliverable: dict[str, Any], timezone: str, config: dict[str, Any], link: str | None
) -> dict[str, Any]:
    """The deadline event of a deliverable with a due time (without its id)."""
    completed = deliverable.get("status") == "completed"
    mark = "✅" if completed else "📋"
    due = parse_instant(str(deliverable["due_at"]))
    return {
        "summary": f"{mark} {deliverable.get('title') or 'Untitled'}",
        "description": deadline_description(deliverable, link),
        **span(due, int(config["deadline_event_minutes"]), timezone),
        "reminders": _reminders(int(config["reminder_minutes"]), completed),
        "attendees": _attendees(deliverable.get("assignee")),
        "transparency": "transparent",  # a deadline does not make anyone busy
        "extendedProperties": {
            "private": {"mycelium": DEADLINE_MARK, "deliverable_id": str(deliverable["id"])}
        },
    }


def wants_event(
    deliverable: dict[str, Any] | None,
    has_event: bool,
    now: datetime,
    config: dict[str, Any],
) -> bool:
    """Should this deliverable have a deadline event? Open ones due within the window get
    one; an existing event is kept (and marked when completed) while the due date stays
    before the window's end; anything re-dated past it, undated or deleted loses it."""
    if deliverable is None or not config["sync_deadlines"] or not deliverable.get("due_at"):
        return False
    due = parse_instant(str(deliverable["due_at"]))
    if due > now + timedelta(days=int(config["sync_window_days"])):
        return False
    return has_event or (deliverable.get("status") != "completed" and due >= now)


def changed_fields(old: dict[str, Any] | None, new: dict[str, Any]) -> dict[str, Any]:
    """The top-level fields of `new` that differ from `old` (what a PATCH must send)."""
    old = old or {}
    return {key: value for key, value in new.items() if old.get(key) != value}
