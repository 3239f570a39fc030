"""Console sign-in: a session cookie in place of an API key, for a browser.

``POST /api/session`` (an API key pasted into the sign-in page) and ``POST
/api/session/link`` (a one-time link from ``hub admin-link``) set the ``hub_session``
cookie (HttpOnly, SameSite=Strict, Secure over https) and answer the CSRF token every
change must send back in ``X-CSRF-Token``. ``DELETE /api/session`` ends it on the server.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, Response, current_app, jsonify
from marshmallow import Schema, fields, validate

from hub.api.auth import console_session, refuse_blocked_client
from hub.api.routing import endpoint
from hub.core import console_sessions
from hub.core.apikeys import create_api_key, effective_role, find_api_key, revoke_api_key
from hub.core.models import ApiKey, Organization, User
from hub.core.schemas import MeSchema
from hub.errors import NotFound, Unauthorized
from hub.extensions import db, get_redis

bp = Blueprint("session", __name__)


class KeySignIn(Schema):
    api_key = fields.String(
        required=True,
        validate=validate.Length(min=1, max=200),
        metadata={
            "description": "An API key of the organization, as `hub apikey create` printed it."
        },
    )


class LinkSignIn(Schema):
    token = fields.String(
        required=True,
        validate=validate.Length(min=1, max=200),
        metadata={"description": "The token of a one-time link from `hub admin-link`."},
    )


class SessionSchema(MeSchema):
    csrf_token = fields.String(
        metadata={"description": "Send it in the X-CSRF-Token header of every change."}
    )
    expires_at = fields.DateTime()


def _render(key: ApiKey, found: console_sessions.ConsoleSession) -> dict[str, Any]:
    org = db.session.get(Organization, key.org_id)
    assert org is not None
    user = key.user
    return {
        "org": {"id": org.id, "slug": org.slug, "name": org.name},
        "role": effective_role(key),
        "user": {"id": user.id, "email": user.email, "name": user.name} if user else None,
        "csrf_token": found.csrf_token,
        "expires_at": datetime.fromtimestamp(found.expires_at, UTC),
    }


def _start(key: ApiKey, owns_key: bool) -> Response:
    session_id, found = console_sessions.create_session(get_redis(), key.id, key.org_id, owns_key)
    body = SessionSchema().dump(_render(key, found))
    db.session.commit()
    response = jsonify(body)
    response.status_code = 201
    response.set_cookie(
        console_sessions.COOKIE,
        session_id,
        max_age=console_sessions.SESSION_TTL_SECONDS,
        path="/",
        secure=str(current_app.config["HUB_APP_URL"]).lower().startswith("https://"),
        httponly=True,
        samesite="Strict",
    )
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/session")
@endpoint(
    "Sign the console in with an API key: sets the session cookie, answers the CSRF token",
    body=KeySignIn,
    response=SessionSchema,
    status=201,
    public=True,
)
def sign_in(body: dict[str, Any]) -> Response:
    refuse_blocked_client()
    return _start(find_api_key(db.session, body["api_key"].strip()), owns_key=False)


@bp.post("/session/link")
@endpoint(
    "Sign the console in with a one-time link (`hub admin-link`): valid 10 minutes, single use",
    body=LinkSignIn,
    response=SessionSchema,
    status=201,
    public=True,
)
def sign_in_with_link(body: dict[str, Any]) -> Response:
    refuse_blocked_client()
    grant = console_sessions.redeem_link(get_redis(), body["token"])
    user = db.session.get(User, grant.user_id) if grant and grant.user_id else None
    if grant is None or (grant.user_id is not None and user is None):
        raise Unauthorized("This sign-in link is unknown, expired or already used.")
    role = "member" if user is not None and user.role != "admin" else grant.role
    key, _ = create_api_key(
        db.session, grant.org_id, role, console_sessions.LINK_KEY_NAME, user
    )  # its secret is dropped: only this session acts with it
    return _start(key, owns_key=True)


def _current() -> tuple[str, console_sessions.ConsoleSession]:
    found = console_session()
    if found is None:
        raise NotFound("This request came with an API key, not a console session.")
    return found


@bp.get("/session")
@endpoint(
    "The console session of this browser: who it is and its CSRF token", response=SessionSchema
)
def get_session() -> dict[str, Any]:
    _, found = _current()
    key = db.session.get(ApiKey, found.key_id)
    assert key is not None
    return _render(key, found)


@bp.delete("/session")
@endpoint(
    "Sign out: the session ends on the server (its cookie is refused from now on)", status=204
)
def sign_out() -> Response:
    session_id, found = _current()
    console_sessions.end_session(get_redis(), session_id)
    key = db.session.get(ApiKey, found.key_id)
    if found.owns_key and key is not None:
        revoke_api_key(key)
    db.session.commit()
    response = Response(status=204)
    response.delete_cookie(console_sessions.COOKIE, path="/", httponly=True, samesite="Strict")
    return response
