"""Notes: written through the hub's session, so they commit with the hook's run."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

import hub
from mycelium_example.models import Note


def add_note(ctx: hub.PluginContext, body: str, event_id: str | None) -> Note:
    """Add a note once per event (a hook may run twice)."""
    if event_id is not None:
        found = ctx.db.scalar(
            select(Note).where(Note.org_id == ctx.org.id, Note.event_id == event_id)
        )
        if found is not None:
            return found
    note = Note(org_id=ctx.org.id, body=body, event_id=event_id)
    ctx.db.add(note)
    ctx.db.flush()
    return note


def render(note: Note) -> dict[str, Any]:
    return {"id": note.id, "body": note.body, "created_at": note.created_at.isoformat()}


def list_notes() -> list[dict[str, Any]]:
    """The calling organization's notes (the hub scopes the query to it)."""
    return [render(n) for n in hub.db_session().scalars(select(Note).order_by(Note.id))]
