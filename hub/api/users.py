"""Team members."""

from __future__ import annotations

from typing import Any

from flask import Blueprint
from sqlalchemy import select

from hub.api.auth import caller
from hub.api.routing import endpoint, page
from hub.core import people
from hub.core.models import User
from hub.core.pagination import paginate
from hub.core.schemas import ListQuerySchema, UserInSchema, UserSchema
from hub.core.scoping import get_owned
from hub.extensions import db

bp = Blueprint("users", __name__)


@bp.get("/users")
@endpoint("List team members", query=ListQuerySchema, response=UserSchema, many=True)
def list_users(query: dict[str, Any]) -> dict[str, Any]:
    stmt = select(User).where(User.org_id == caller().org.id)
    rows, cursor = paginate(db.session, stmt, User.id, query["limit"], query.get("cursor"))
    return page(rows, UserSchema(), cursor)


@bp.post("/users")
@endpoint("Add a team member", body=UserInSchema, response=UserSchema, status=201, role="admin")
def create_user(body: dict[str, Any]) -> dict[str, Any]:
    user = people.create_user(db.session, caller().org.id, body)
    db.session.commit()
    return people.render_user(user)


@bp.get("/users/<int:user_id>")
@endpoint("A team member", response=UserSchema)
def get_user(user_id: int) -> dict[str, Any]:
    return people.render_user(get_owned(db.session, User, caller().org.id, user_id))


@bp.patch("/users/<int:user_id>")
@endpoint(
    "Change a team member", body=UserInSchema, partial=True, response=UserSchema, role="admin"
)
def patch_user(user_id: int, body: dict[str, Any]) -> dict[str, Any]:
    user = people.update_user(db.session, caller().org.id, user_id, body)
    db.session.commit()
    return people.render_user(user)


@bp.delete("/users/<int:user_id>")
@endpoint("Remove a team member", status=204, role="admin")
def delete_user(user_id: int) -> None:
    who = caller()
    people.delete_user(db.session, who.org.id, user_id, who.user.id if who.user else None)
    db.session.commit()
