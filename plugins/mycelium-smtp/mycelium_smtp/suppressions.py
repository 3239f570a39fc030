"""Unsubscribes: an address that clicked the link stops getting that type of email."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, func, select

from mycelium_smtp import directory, preferences
from mycelium_smtp.messages import parse_address
from mycelium_smtp.models import Suppression


def _key(value: str) -> str:
    return parse_address(value).addr_spec.lower()


def suppressed(session: Any, org_id: int, type_name: str, addresses: Sequence[str]) -> set[str]:
    """Which of `addresses` (lower-cased) unsubscribed from `type_name`."""
    keys = {_key(a) for a in addresses}
    if not keys:
        return set()
    stmt = select(Suppression.email).where(
        Suppression.org_id == org_id, Suppression.type == type_name, Suppression.email.in_(keys)
    )
    return set(session.scalars(stmt))


def without_suppressed(
    session: Any, org_id: int, type_name: str, *groups: Sequence[str]
) -> tuple[list[str], ...]:
    """Each recipient list minus the addresses that unsubscribed from `type_name`."""
    gone = suppressed(session, org_id, type_name, [a for group in groups for a in group])
    return tuple([a for a in group if _key(a) not in gone] for group in groups)


def unsubscribe(session: Any, org_id: int, type_name: str, addresses: Sequence[str]) -> None:
    """Record the unsubscribe; a user's matching preference is turned off too."""
    keys = {_key(a) for a in addresses}
    for key in keys - suppressed(session, org_id, type_name, list(keys)):
        session.add(Suppression(org_id=org_id, email=key, type=type_name))
    gate = preferences.GATES.get(type_name)
    if gate is not None:
        for person in directory.by_emails(session, org_id, list(keys)):
            preferences.update(session, org_id, person, {gate: False})
    session.flush()


def resubscribe(session: Any, org_id: int, address: str, type_names: Sequence[str]) -> None:
    """The user opted in again (preferences API): lift their unsubscribes for these types."""
    session.execute(
        delete(Suppression).where(
            Suppression.org_id == org_id,
            func.lower(Suppression.email) == address.lower(),
            Suppression.type.in_(list(type_names)),
        )
    )
