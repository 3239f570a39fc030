"""The hub's own data that the Slack plugin reads and changes: people, clients, deliverables.

Every query names the organization explicitly (on top of the session's org scoping).
Resources are returned as the API renders them, the same dicts events carry.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, scoped_session

from hub import (
    Client,
    Deliverable,
    User,
    complete_deliverable,
    render_client,
    render_deliverable,
)

Resource = dict[str, Any]
# The hub's session as hooks and routes get it (``ctx.db``, ``hub.db_session()``).
Db = Session | scoped_session[Any]
OPEN = ("todo", "in_progress", "review")


@dataclass(frozen=True)
class Person:
    """A member of the organization's team."""

    id: int
    email: str
    name: str


def people(session: Db, org_id: int) -> list[Person]:
    rows = session.scalars(select(User).where(User.org_id == org_id).order_by(User.id))
    return [Person(u.id, u.email, u.name) for u in rows]


def person(session: Db, org_id: int, user_id: int) -> Person | None:
    user = session.scalar(select(User).where(User.org_id == org_id, User.id == user_id))
    return Person(user.id, user.email, user.name) if user else None


def _page(session: Db, stmt: Any, limit: int) -> tuple[list[Resource], int]:
    total = session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
    rows = session.scalars(stmt.limit(limit))
    return [render_deliverable(d) for d in rows], int(total or 0)


def _open(org_id: int) -> Any:
    return select(Deliverable).where(Deliverable.org_id == org_id, Deliverable.status.in_(OPEN))


def open_deliverables(
    session: Db, org_id: int, assignee_id: int, limit: int
) -> tuple[list[Resource], int]:
    """A person's open deliverables, soonest due first (no due date last); and their count."""
    stmt = _open(org_id).where(Deliverable.assignee_id == assignee_id)
    order = (Deliverable.due_at.is_(None), Deliverable.due_at, Deliverable.id)
    return _page(session, stmt.order_by(*order), limit)


def overdue_deliverables(
    session: Db, org_id: int, now: datetime, limit: int
) -> tuple[list[Resource], int]:
    """The organization's open deliverables past due, longest overdue first; and their count."""
    stmt = _open(org_id).where(Deliverable.due_at < now)
    return _page(session, stmt.order_by(Deliverable.due_at, Deliverable.id), limit)


def client_deliverables(
    session: Db, org_id: int, client_id: int, limit: int
) -> tuple[list[Resource], int]:
    stmt = _open(org_id).where(Deliverable.client_id == client_id)
    order = (Deliverable.due_at.is_(None), Deliverable.due_at, Deliverable.id)
    return _page(session, stmt.order_by(*order), limit)


def matching_clients(session: Db, org_id: int, name: str, limit: int) -> list[Resource]:
    """Clients named ``name`` (any case); failing that, those whose name contains it."""
    lowered = func.lower(Client.name)
    base = select(Client).where(Client.org_id == org_id).order_by(Client.name, Client.id)
    exact = list(session.scalars(base.where(lowered == name.lower()).limit(limit)))
    if exact:
        return [render_client(c) for c in exact]
    pattern = "%" + name.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    found = session.scalars(base.where(lowered.like(pattern, escape="\\")).limit(limit))
    return [render_client(c) for c in found]


def complete(session: Db, org: Any, deliverable_id: int, user_id: int) -> Resource:
    """Complete a deliverable as ``user_id``; records ``deliverable.completed``.

    Raises ``NotFound`` (not this org's) or ``Conflict`` (already completed).
    """
    return render_deliverable(complete_deliverable(session, org, deliverable_id, user_id))
