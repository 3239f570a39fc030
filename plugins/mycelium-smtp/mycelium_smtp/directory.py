"""The organization's people, read from the hub's tables through the public model base.

The public API has no people service for plugins yet, so this module alone reads the
core's ``users`` and ``deliverables`` tables (``hub.Model.metadata``), read-only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Table, func, select

from hub import Model


@dataclass(frozen=True)
class Person:
    id: int
    email: str
    name: str
    role: str


def table(name: str) -> Table:
    return Model.metadata.tables[name]


def _people(session: Any, stmt: Any) -> list[Person]:
    return [Person(r.id, r.email, r.name, r.role) for r in session.execute(stmt)]


def _users_select(org_id: int) -> Any:
    users = table("users")
    stmt = select(users.c.id, users.c.email, users.c.name, users.c.role)
    return stmt.where(users.c.org_id == org_id).order_by(users.c.id)


def person(session: Any, org_id: int, user_id: int) -> Person | None:
    found = _people(session, _users_select(org_id).where(table("users").c.id == user_id))
    return found[0] if found else None


def admins(session: Any, org_id: int) -> list[Person]:
    return _people(session, _users_select(org_id).where(table("users").c.role == "admin"))


def everyone(session: Any, org_id: int) -> list[Person]:
    return _people(session, _users_select(org_id))


def by_emails(session: Any, org_id: int, emails: list[str]) -> list[Person]:
    if not emails:
        return []
    lowered = [e.lower() for e in emails]
    return _people(
        session, _users_select(org_id).where(func.lower(table("users").c.email).in_(lowered))
    )
