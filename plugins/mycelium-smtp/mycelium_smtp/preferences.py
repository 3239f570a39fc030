"""What each user wants by email: digests are opt-in, notifications opt-out."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from mycelium_smtp.directory import Person
from mycelium_smtp.models import Preference

FIELDS = ("daily_digest", "weekly_digest", "monthly_report", "notifications")
# Which preference lets an email type through (types not listed always go).
GATES = {
    "daily_digest": "daily_digest",
    "weekly_digest": "weekly_digest",
    "monthly_report": "monthly_report",
    "deliverable_due": "notifications",
    "deliverable_overdue": "notifications",
    "deliverable_completed": "notifications",
    "admin_alert": "notifications",
}


def defaults(person: Person) -> dict[str, bool]:
    """Without a saved choice: no digests, the monthly report for admins, notifications on."""
    return {
        "daily_digest": False,
        "weekly_digest": False,
        "monthly_report": person.role == "admin",
        "notifications": True,
    }


def _row(session: Any, person: Person) -> Preference | None:
    return session.scalar(select(Preference).where(Preference.user_id == person.id))


def of(session: Any, org_id: int, person: Person) -> dict[str, bool]:
    row = _row(session, person)
    if row is None:
        return defaults(person)
    return {name: bool(getattr(row, name)) for name in FIELDS}


def update(session: Any, org_id: int, person: Person, changes: dict[str, bool]) -> dict[str, bool]:
    """Save the user's choices (fields not given keep their value)."""
    row = _row(session, person)
    if row is None:
        row = Preference(org_id=org_id, user_id=person.id, **defaults(person))
        session.add(row)
    for name, value in changes.items():
        setattr(row, name, bool(value))
    session.flush()
    return {name: bool(getattr(row, name)) for name in FIELDS}


def wants(session: Any, org_id: int, person: Person, type_name: str) -> bool:
    gate = GATES.get(type_name)
    return gate is None or of(session, org_id, person)[gate]
