"""The Slack messages the hub sends: Block Kit with a plain-text fallback, in the org's colours.

Every builder takes the resource as the API renders it and a :class:`Frame` (branding,
links, time, how to mention a person) and returns a :class:`~mycelium_slack.blocks.Message`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from mycelium_slack.blocks import (
    Block,
    Message,
    actions,
    button,
    context,
    escape,
    header,
    image,
    link,
    mrkdwn,
    section,
)
from mycelium_slack.timefmt import duration, parse_time, slack_date

Resource = dict[str, Any]
Mention = Callable[[Resource | None], str]


@dataclass(frozen=True)
class Frame:
    """What every message needs around its content."""

    company: str
    logo_url: str | None
    timezone: str
    client_url: str
    now: datetime
    mention: Mention

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def url(self, path: str) -> str:
        return f"{self.client_url.rstrip('/')}/{path.lstrip('/')}"

    def branding(self) -> Block:
        """The org's logo and company name, the last block of every message."""
        elements = [image(self.logo_url, self.company)] if self.logo_url else []
        return context(*elements, mrkdwn(f"*{escape(self.company)}* · Mycelium Hub"))


def _when(value: str | None, frame: Frame) -> str:
    moment = parse_time(value)
    return slack_date(moment, frame.zone) if moment else "no due date"


def _title(deliverable: Resource, frame: Frame) -> str:
    url = frame.url(f"deliverables/{deliverable['id']}")
    return f"*{link(url, deliverable.get('title') or 'Untitled')}*"


def _client(deliverable: Resource) -> str:
    return escape(deliverable.get("client_name") or "—")


def framed(fallback: str, frame: Frame, *blocks: Block) -> Message:
    return Message(fallback, [*blocks, frame.branding()])


def deliverable_due(deliverable: Resource, frame: Frame) -> Message:
    """A deliverable entered the due-soon window."""
    who = frame.mention(deliverable.get("assignee"))
    due = _when(deliverable.get("due_at"), frame)
    fields = [
        ("Client", _client(deliverable)),
        ("Due", due),
        ("Assigned to", who),
        ("Priority", escape(str(deliverable.get("priority", "normal")).capitalize())),
    ]
    fallback = f"⏰ Due soon: {escape(deliverable.get('title', ''))} for {_client(deliverable)}"
    return framed(
        f"{fallback}, {due}, assigned to {who}",
        frame,
        header("⏰ Deliverable due soon"),
        section(_title(deliverable, frame), fields),
        actions(_view_button(deliverable, frame, "primary")),
    )


def deliverable_overdue(deliverable: Resource, frame: Frame) -> Message:
    """A deliverable passed its due time: how late, and buttons to act."""
    who = frame.mention(deliverable.get("assignee"))
    late = days_overdue(parse_time(deliverable.get("due_at")), frame.now)
    fields = [
        ("Client", _client(deliverable)),
        ("Was due", _when(deliverable.get("due_at"), frame)),
        ("Assigned to", who),
        ("Days overdue", late),
    ]
    reassign = frame.url(f"deliverables/{deliverable['id']}/edit")
    title = escape(deliverable.get("title", ""))
    return framed(
        f"🚨 Overdue: {title} for {_client(deliverable)} ({late} overdue), assigned to {who}",
        frame,
        header("🚨 Deliverable overdue"),
        section(_title(deliverable, frame), fields),
        actions(
            _view_button(deliverable, frame, "primary"),
            button("Reassign", reassign, "reassign_deliverable"),
        ),
    )


def deliverable_completed(deliverable: Resource, frame: Frame) -> Message:
    """A deliverable was completed: by whom, and how long it took."""
    who = frame.mention(deliverable.get("completed_by"))
    took = _time_taken(deliverable)
    fields = [
        ("Client", _client(deliverable)),
        ("Completed by", who),
        ("Service type", escape(deliverable.get("service_type_name") or "—")),
        ("Time taken", took),
    ]
    title = escape(deliverable.get("title", ""))
    return framed(
        f"✅ Completed: {title} for {_client(deliverable)} by {who} ({took})",
        frame,
        header("✅ Deliverable completed"),
        section(_title(deliverable, frame), fields),
    )


def client_created(client: Resource, frame: Frame) -> Message:
    """A new client: contact, service types, who added it, initial deliverables."""
    name = escape(client.get("name", ""))
    url = frame.url(f"clients/{client['id']}")
    fields = [
        ("Contact", _contact(client)),
        ("Service types", _names(client.get("service_types")) or "—"),
        ("Added by", _added_by(client.get("actor"), frame)),
        ("Initial deliverables", _initial_deliverables(client.get("deliverables"))),
    ]
    return framed(
        f"🎉 New client: {name}",
        frame,
        header("🎉 New client"),
        section(f"*{link(url, client.get('name', ''))}*", fields),
        actions(button("View client", url, "view_client", "primary")),
    )


def days_overdue(due: datetime | None, now: datetime) -> str:
    if due is None:
        return "—"
    days = (now - due) // timedelta(days=1)
    if days < 1:
        return "less than a day"
    return f"{days} day" if days == 1 else f"{days} days"


def _time_taken(deliverable: Resource) -> str:
    start = parse_time(deliverable.get("created_at"))
    end = parse_time(deliverable.get("completed_at"))
    if start is None or end is None:
        return "—"
    taken = duration(end - start)
    due = parse_time(deliverable.get("due_at"))
    if due is None:
        return taken
    late = end - due
    return f"{taken}, {duration(late)} late" if late > timedelta(0) else f"{taken}, on time"


def _contact(client: Resource) -> str:
    person, email = client.get("contact_person"), client.get("contact_email")
    parts = [escape(person) if person else "", link(f"mailto:{email}", email) if email else ""]
    return " · ".join(part for part in parts if part) or "—"


def _added_by(actor: Any, frame: Frame) -> str:
    """The event's actor: a mention of the person (their name if not mapped), or the key's."""
    if not isinstance(actor, dict) or not actor.get("name"):
        return "—"
    if actor.get("type") == "user":
        return frame.mention(actor)
    return f"{escape(str(actor['name']))} (API key)"


def _names(items: Any) -> str:
    names = [escape(item.get("name", "")) for item in items or [] if isinstance(item, dict)]
    return ", ".join(name for name in names if name)


def _initial_deliverables(items: Any) -> str:
    if not items:
        return "None yet"
    titles = [escape(item.get("title", "")) for item in items if isinstance(item, dict)]
    shown = "\n".join(f"• {title}" for title in titles[:5])
    more = f"\n…and {len(titles) - 5} more" if len(titles) > 5 else ""
    return f"{len(items)} created\n{shown}{more}"


def _view_button(deliverable: Resource, frame: Frame, style: str | None = None) -> Block:
    url = frame.url(f"deliverables/{deliverable['id']}")
    return button("View deliverable", url, "view_deliverable", style)
