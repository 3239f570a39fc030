"""Test plugin `flaky` (HUB_EXTRA_PLUGINS=flaky=console_flaky): its client hook fails for
good while the file named by CONSOLE_FLAKY_FLAG exists, and succeeds once it is gone."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import marshmallow
from flask import Blueprint, jsonify

from hub import (
    ConsolePage,
    EventInfo,
    PermanentError,
    PluginContext,
    Provider,
    admin_route,
    api_route,
    current_caller,
    hookimpl,
)


@hookimpl
def register_providers(register: Callable[[Provider], None]) -> None:
    register(Provider(name="flaky", title="Flaky", description="Fails while a flag file exists."))


@hookimpl
def on_client_created(ctx: PluginContext, event: EventInfo, client: dict[str, Any]) -> None:
    flag = os.environ.get("CONSOLE_FLAKY_FLAG", "")
    if flag and os.path.exists(flag):
        raise PermanentError("the flag file says fail")


# A page of its own in the console, as a third-party plugin would add one: a table of notes
# and a form that adds one (kept in this process: the tests serve one web worker).
bp = Blueprint("flaky", __name__)
NOTES: dict[int, list[dict[str, Any]]] = {}


class NoteIn(marshmallow.Schema):
    client = marshmallow.fields.String(
        required=True,
        validate=marshmallow.validate.Length(min=1, max=100),
        metadata={"description": "Who the note is about."},
    )
    text = marshmallow.fields.String(
        required=True, validate=marshmallow.validate.Length(min=1, max=500)
    )
    mood = marshmallow.fields.String(
        load_default="calm", validate=marshmallow.validate.OneOf(("calm", "urgent"))
    )


class NoteOut(NoteIn):
    author = marshmallow.fields.String()


@bp.get("/notes")
@api_route(response=NoteOut, many=True)
def list_notes() -> Any:
    """The organization's notes."""
    return jsonify({"items": NOTES.get(current_caller().org.id, []), "next_cursor": None})


@bp.post("/notes")
@admin_route
@api_route(body=NoteIn, response=NoteOut, status=201)
def add_note(body: dict[str, Any]) -> Any:
    """Add a note."""
    who = current_caller()
    note = {**body, "author": who.user.email if who.user else "API key"}
    NOTES.setdefault(who.org.id, []).append(note)
    return jsonify(note), 201


@hookimpl
def register_routes(register: Callable[[Blueprint], None]) -> None:
    register(bp)


@hookimpl
def register_console_pages(register: Callable[[ConsolePage], None]) -> None:
    register(
        ConsolePage(
            name="notes",
            title="Flaky notes",
            description="Notes about clients, from a plugin's own page.",
            source="notes",
            columns=(("client", "Client"), ("text", "Note"), ("mood", "Mood"), ("author", "By")),
            form="POST notes",
            form_title="Add a note",
        )
    )
