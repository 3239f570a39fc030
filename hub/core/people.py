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


def _keep_an_admin(session: AnySession, org_id: int, leaving: User, why: str) -> None:
    """Conflict if `leaving` is the organization's last admin user.

    The admins' rows are locked first, so two requests each removing one of the last two
    admins cannot both see the other one still there (PostgreSQL; SQLite's write lock
    already serialises them).
    """
    if leaving.role != "admin":
        return
    stmt = select(User.id).where(User.org_id == org_id, User.role == "admin").with_for_update()
    if set(session.scalars(stmt)) <= {leaving.id}:
        raise Conflict(
            f"{leaving.email} is the organization's last admin: {why} would leave nobody "
            "to manage it. Make another user admin first.",
            {"user_id": ["The last admin."]},
        )


def update_user(session: AnySession, org_id: int, user_id: int, changes: dict[str, Any]) -> User:
    user = get_owned(session, User, org_id, user_id)
    if changes.get("role", user.role) != user.role:
        _keep_an_admin(session, org_id, user, "making them a member")
    if "email" in changes:
        _check_email_free(session, org_id, changes["email"], user.id)
    for field, value in changes.items():
        setattr(user, field, value)
    session.flush()
    events.record(session, org_id, "user.updated", render_user(user))
    return user


def delete_user(
    session: AnySession, org_id: int, user_id: int, acting_user_id: int | None = None
) -> None:
    """Delete a user and their API keys; never the acting user, never the last admin."""
    user = get_owned(session, User, org_id, user_id)
    if user.id == acting_user_id:
        raise Conflict(
            "You cannot delete your own user: the API key making this request would go "
            "with it. Ask another admin to do it.",
            {"user_id": ["The calling key's own user."]},
        )
    _keep_an_admin(session, org_id, user, "deleting them")
    payload = render_user(user)
    session.delete(user)
    session.flush()
    events.record(session, org_id, "user.deleted", payload)
