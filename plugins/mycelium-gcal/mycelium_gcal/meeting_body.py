"""A meeting's event as Google takes it, and what Google's answer tells about it."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from hub import Client, Deliverable, PluginContext
from mycelium_gcal import access, bodies
from mycelium_gcal.models import Meeting


def _deliverable_lines(ctx: PluginContext, row: Meeting) -> list[str]:
    if row.deliverable_id is None:
        return []
    stmt = (
        select(Deliverable.title, Client.name)
        .join(Client, Client.id == Deliverable.client_id)
        .where(Deliverable.org_id == ctx.org.id, Deliverable.id == row.deliverable_id)
    )
    found = ctx.db.execute(stmt).first()
    if found is None:
        return []
    lines = [f"Deliverable: {found[0]}", f"Client: {found[1]}"]
    link = access.client_url(ctx, f"deliverables/{row.deliverable_id}")
    return [*lines, f"Open in Mycelium: {link}"] if link else lines


def description(ctx: PluginContext, row: Meeting) -> str:
    """The meeting's own description, then the deliverable and client it is about."""
    parts = [row.description] if row.description else []
    lines = _deliverable_lines(ctx, row)
    if lines:
        parts.append("\n".join(lines))
    return "\n\n".join(parts)


def body(ctx: PluginContext, row: Meeting) -> dict[str, Any]:
    """The whole event (without its id); a patch sends the fields that changed."""
    minutes = int((row.end_at - row.start_at).total_seconds() // 60)
    event: dict[str, Any] = {
        "summary": row.title,
        "description": description(ctx, row),
        "location": row.location or "",
        **bodies.span(row.start_at, minutes, row.timezone),
        "attendees": [{"email": email} for email in row.attendees or []],
        "extendedProperties": {
            "private": {"mycelium": bodies.MEETING_MARK, "meeting_id": str(row.id)}
        },
    }
    if row.meet_requested:
        # the same request id on every try: a retried insert asks for one conference
        event["conferenceData"] = {
            "createRequest": {
                "requestId": f"mycelium-{row.event_id}",
                "conferenceSolutionKey": {"type": "hangoutsMeet"},
            }
        }
    return event


def conference_status(event: dict[str, Any]) -> str | None:
    """``pending``, ``success`` or ``failure`` of the Meet request; None when there is none."""
    conference = event.get("conferenceData") or {}
    status = ((conference.get("createRequest") or {}).get("status") or {}).get("statusCode")
    if status is None and (event.get("hangoutLink") or conference.get("entryPoints")):
        return "success"
    return str(status) if status else None


def meet_url(event: dict[str, Any]) -> str | None:
    """The Meet link: ``hangoutLink``, or the conference's video entry point."""
    if event.get("hangoutLink"):
        return str(event["hangoutLink"])
    points = (event.get("conferenceData") or {}).get("entryPoints") or []
    video = [p.get("uri") for p in points if p.get("entryPointType") == "video" and p.get("uri")]
    return str(video[0]) if video else None


def absorb(row: Meeting, event: dict[str, Any]) -> None:
    """Keep what Google says of the event: link, Meet status and URL, its version."""
    row.html_link = event.get("htmlLink") or row.html_link
    row.google_updated = event.get("updated") or row.google_updated
    status = conference_status(event)
    if row.meet_requested and status:
        row.meet_status = status
        row.meet_url = meet_url(event) or row.meet_url
