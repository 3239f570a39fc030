"""The organization's API keys: list, create (the secret shown once), revoke. Admin only."""

from __future__ import annotations

from typing import Any

from flask import Blueprint
from sqlalchemy import select

from hub.api.auth import caller
from hub.api.routing import endpoint, page
from hub.core.apikey_schemas import ApiKeyInSchema, ApiKeySchema, NewApiKeySchema
from hub.core.apikeys import create_api_key, revoke_api_key
from hub.core.models import ApiKey, User
from hub.core.pagination import paginate
from hub.core.schemas import ListQuerySchema
from hub.core.scoping import get_owned, require_ref
from hub.extensions import db

bp = Blueprint("keys", __name__)
_render = ApiKeySchema().dump


@bp.get("/keys")
@endpoint(
    "List the organization's API keys, revoked ones included",
    query=ListQuerySchema,
    response=ApiKeySchema,
    many=True,
    role="admin",
)
def list_keys(query: dict[str, Any]) -> dict[str, Any]:
    stmt = select(ApiKey).where(ApiKey.org_id == caller().org.id)
    rows, cursor = paginate(db.session, stmt, ApiKey.id, query["limit"], query.get("cursor"))
    return page(rows, ApiKeySchema(), cursor)


@bp.post("/keys")
@endpoint(
    "Create an API key; the answer holds its secret, shown once",
    body=ApiKeyInSchema,
    response=NewApiKeySchema,
    status=201,
    role="admin",
)
def create_key(body: dict[str, Any]) -> dict[str, Any]:
    who = caller()
    user = who.user
    if "user_id" in body:
        user = require_ref(db.session, User, who.org.id, body["user_id"], "user_id")
    key, secret = create_api_key(db.session, who.org.id, body["role"], body["name"], user)
    db.session.commit()
    return {**_render(key), "key": secret}


@bp.get("/keys/<int:key_id>")
@endpoint("One API key", response=ApiKeySchema, role="admin")
def get_key(key_id: int) -> dict[str, Any]:
    return _render(get_owned(db.session, ApiKey, caller().org.id, key_id))


@bp.delete("/keys/<int:key_id>")
@endpoint("Revoke an API key: refused from now on, in every process", status=204, role="admin")
def revoke_key(key_id: int) -> None:
    revoke_api_key(get_owned(db.session, ApiKey, caller().org.id, key_id))
    db.session.commit()
