"""Users: the agency's team."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from hub.core import events
from hub.core.db import AnySession
from hub.core.models import User
from hub.core.schemas import UserSchema
from hub.core.scoping import get_owned
from hub.errors import Conflict

_render = UserSchema().dump


def render_user(user: User) -> dict[str, Any]:
    return _render(user)


def _check_email_free(session: AnySession, org_id: int, email: str, exclude: int | None) -> None:
    stmt = select(User.id).where(User.org_id == org_id, func.lower(User.email) == email.lower())
    if exclude is not None:
        stmt = stmt.where(User.id != exclude)
    if session.scalar(stmt):
        raise Conflict("A user with this email exists.", {"email": ["Already taken."]})


def create_user(session: AnySession, org_id: int, data: dict[str, Any]) -> User:
    _check_email_free(session, org_id, data["email"], None)
    user = User(org_id=org_id, **data)
    session.add(user)
    session.flush()
    events.record(session, org_id, "user.created", render_user(user))
    return user


def update_user(session: AnySession, org_id: int, user_id: int, changes: dict[str, Any]) -> User:
    user = get_owned(session, User, org_id, user_id)
    if "email" in changes:
        _check_email_free(session, org_id, changes["email"], user.id)
    for field, value in changes.items():
        setattr(user, field, value)
    session.flush()
    events.record(session, org_id, "user.updated", render_user(user))
    return user


def delete_user(session: AnySession, org_id: int, user_id: int) -> None:
    user = get_owned(session, User, org_id, user_id)
    payload = render_user(user)
    session.delete(user)
    session.flush()
    events.record(session, org_id, "user.deleted", payload)
