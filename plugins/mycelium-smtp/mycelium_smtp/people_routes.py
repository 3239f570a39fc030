"""Routes for people: email preferences, and the public one-click unsubscribe link."""

from __future__ import annotations

from typing import Any

from flask import Response, current_app, request
from markupsafe import escape

from hub import (
    Forbidden,
    NotFound,
    api_route,
    current_caller,
    current_context,
    db_session,
    public_route,
)
from mycelium_smtp import directory, preferences, schemas, suppressions
from mycelium_smtp.catalog import email_type
from mycelium_smtp.directory import Person
from mycelium_smtp.messages import read_unsubscribe
from mycelium_smtp.routes import MAX_ID, bp

# preference -> the email types it opts into (lifting an earlier unsubscribe from them)
OPTS_INTO = {
    "daily_digest": ["daily_digest"],
    "weekly_digest": ["weekly_digest"],
    "monthly_report": ["monthly_report"],
    "notifications": [t for t, gate in preferences.GATES.items() if gate == "notifications"],
}


def _person(ctx: Any, user_id: int | None) -> Person:
    caller = current_caller()
    if user_id is None:
        if caller.user is None:
            raise NotFound("This API key has no user; name one: /preferences/<user_id>.")
        user_id = caller.user.id
    elif caller.role != "admin" and (caller.user is None or caller.user.id != user_id):
        raise Forbidden("Only admins change other people's email preferences.")
    person = directory.person(ctx.db, ctx.org.id, user_id) if user_id <= MAX_ID else None
    if person is None:
        raise NotFound("No such user in this organization.")
    return person


def _render(ctx: Any, person: Person) -> dict[str, Any]:
    return {"user_id": person.id, **preferences.of(ctx.db, ctx.org.id, person)}


@bp.get("/preferences")
@bp.get("/preferences/<int:user_id>")
@api_route(
    "A user's email preferences (the key's own user without an id)",
    response=schemas.PreferencesSchema,
)
def get_preferences(user_id: int | None = None) -> Any:
    ctx = current_context()
    return _render(ctx, _person(ctx, user_id))


@bp.put("/preferences")
@bp.put("/preferences/<int:user_id>")
@api_route(
    "Change a user's email preferences (fields not given keep their value)",
    body=schemas.PreferencesInSchema,
    response=schemas.PreferencesSchema,
)
def put_preferences(body: dict[str, Any], user_id: int | None = None) -> Any:
    ctx, changes = current_context(), body
    person = _person(ctx, user_id)
    preferences.update(ctx.db, ctx.org.id, person, changes)
    opted_in = [t for name, on in changes.items() if on for t in OPTS_INTO[name]]
    if opted_in:
        suppressions.resubscribe(ctx.db, ctx.org.id, person.email, opted_in)
    ctx.db.commit()
    return _render(ctx, person)


def _page(title: str, body: str, status: int = 200) -> Response:
    html = (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f'<title>{escape(title)}</title></head><body style="font-family:sans-serif;'
        f'max-width:480px;margin:48px auto;"><h1>{escape(title)}</h1>{body}</body></html>'
    )
    return Response(html, status=status, mimetype="text/html")


@bp.route("/unsubscribe/<token>", methods=["GET", "POST"])
@public_route
@api_route(media_type="text/html")
def unsubscribe(token: str) -> Response:
    """GET shows a confirmation button (link scanners must not unsubscribe anyone); POST,
    the RFC 8058 one-click request or the button, unsubscribes. Never a redirect."""
    found = read_unsubscribe(str(current_app.config["SECRET_KEY"]), token)
    kind = email_type(found.type) if found else None
    if found is None or kind is None:
        return _page("Link not valid", "<p>This unsubscribe link is not valid.</p>", 404)
    if request.method == "GET":
        form = (
            f"<p>Stop receiving <strong>{escape(kind.description)}</strong> emails at "
            f'{escape(", ".join(found.addresses))}?</p><form method="post">'
            '<input type="hidden" name="List-Unsubscribe" value="One-Click">'
            '<button type="submit">Unsubscribe</button></form>'
        )
        return _page("Unsubscribe", form)
    db = db_session()
    suppressions.unsubscribe(db, found.org_id, kind.name, list(found.addresses))
    db.commit()
    return _page(
        "Unsubscribed", f"<p>You will no longer get these emails ({escape(kind.name)}).</p>"
    )
