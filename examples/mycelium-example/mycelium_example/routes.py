"""Routes under /api/integrations/example/: authenticated by API key unless public."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, request

import hub
from mycelium_example.notes import add_note, list_notes, render

blueprint = Blueprint("example", __name__)


@blueprint.get("/notes")
def get_notes() -> dict[str, Any]:
    """This organization's notes."""
    hub.current_context()  # 404 unless the plugin is enabled for the caller's org
    return {"items": list_notes()}


@blueprint.post("/notes")
@hub.admin_route
def post_note() -> tuple[dict[str, Any], int]:
    """Add a note (admins)."""
    ctx = hub.current_context()
    body = (request.get_json(silent=True) or {}).get("body")
    if not isinstance(body, str) or not body.strip():
        raise hub.ValidationError("A note needs a body.", {"body": ["Required."]})
    note = add_note(ctx, body.strip()[:2000], None)
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
