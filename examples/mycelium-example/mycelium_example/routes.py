"""Routes under /api/integrations/example/: authenticated by API key unless public."""

from __future__ import annotations

from typing import Any

import marshmallow
from flask import Blueprint, request
from marshmallow import fields, validate

import hub
from mycelium_example.notes import add_note, list_notes, render

blueprint = Blueprint("example", __name__)


class NoteIn(marshmallow.Schema):
    body = fields.String(required=True, validate=validate.Length(min=1, max=2000))


class NoteOut(marshmallow.Schema):
    id = fields.Integer()
    body = fields.String()
    created_at = fields.DateTime()


@blueprint.get("/notes")
@hub.api_route(response=NoteOut, many=True)  # declared: validated, and in /api/openapi.json
def get_notes() -> dict[str, Any]:
    """This organization's notes."""
    hub.current_context()  # 404 unless the plugin is enabled for the caller's org
    return {"items": list_notes(), "next_cursor": None}


@blueprint.post("/notes")
@hub.admin_route
@hub.api_route(body=NoteIn, response=NoteOut, status=201)
def post_note(body: dict[str, Any]) -> tuple[dict[str, Any], int]:
    """Add a note (admins)."""
    ctx = hub.current_context()
    if not body["body"].strip():
        raise hub.ValidationError("A note needs a body.", {"body": ["Must not be blank."]})
    note = add_note(ctx, body["body"].strip(), None)
    hub.db_session().commit()
    return render(note), 201


@blueprint.post("/inbound/<account>")
@hub.public_route
def inbound(account: str) -> tuple[dict[str, Any], int]:
    """A signed call from outside: the plugin verifies it with the org's secret."""
    ctx = hub.find_integration("example", account)
    if ctx is None:
        raise hub.NotFound("Unknown account.")
    secret = ctx.secret("signing_secret") or ""
    hub.verify_hmac_signature(
        secret, request.get_data(), request.headers.get("X-Example-Signature")
    )
    note = add_note(ctx, request.get_data(as_text=True)[:2000], None)
    hub.db_session().commit()
    return {"id": note.id}, 201
