"""The organization's suppression list: addresses its emails no longer go to.

An unsubscribe (the signed RFC 8058 link) suppresses one email type for the address; a hard
bounce, a spam complaint or a recipient the mail server refused at RCPT time suppress every
type (``*``), transactional ones included: the address does not take mail, or its owner
called it spam. Admins see the list and lift entries through the API.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, func, select

from hub import insert_ignoring_conflicts, now
from mycelium_smtp import directory, preferences
from mycelium_smtp.messages import parse_address
from mycelium_smtp.models import ALL_TYPES, Suppression


def key_of(value: str) -> str:
    """The address as the list keeps it: the bare address, lower-cased."""
    return parse_address(value).addr_spec.lower()


def _key(value: str) -> str | None:
    try:
        return key_of(value)
    except ValueError:
        return None


Entries = dict[str, dict[str, str]]  # address -> {type or "*": reason}


def entries(session: Any, org_id: int, addresses: Sequence[str]) -> Entries:
    """The list's entries for these addresses, in one query (a batch asks once)."""
    keys = {k for k in (_key(a) for a in addresses) if k}
    if not keys:
        return {}
    stmt = select(Suppression.email, Suppression.type, Suppression.reason).where(
        Suppression.org_id == org_id, Suppression.email.in_(keys)
    )
    found: Entries = {}
    for address, type_name, reason in session.execute(stmt):
        found.setdefault(address, {})[type_name] = reason
    return found


def reasons(found: Entries, type_name: str | None, addresses: Sequence[str]) -> dict[str, str]:
    """Which of `addresses` (lower-cased) are suppressed for `type_name` (None: only the
    every-type entries, for transactional emails), and why."""
    gone: dict[str, str] = {}
    for address in addresses:
        key = _key(address)
        listed = found.get(key or "")
        if not key or not listed:
            continue
        reason = listed.get(ALL_TYPES) or (listed.get(type_name) if type_name else None)
        if reason:
            gone[key] = reason
    return gone


def suppressed(
    session: Any, org_id: int, type_name: str | None, addresses: Sequence[str]
) -> dict[str, str]:
    """Which of `addresses` (lower-cased) are suppressed for `type_name`, and why."""
    return reasons(entries(session, org_id, addresses), type_name, addresses)


def without_suppressed(
    found: Entries, type_name: str | None, *groups: Sequence[str]
) -> tuple[tuple[list[str], ...], dict[str, str]]:
    """Each recipient list minus the suppressed addresses; and those left out, with why."""
    gone = reasons(found, type_name, [a for group in groups for a in group])
    kept = tuple([a for a in group if _key(a) not in gone] for group in groups)
    return kept, gone


def suppress(
    session: Any, org_id: int, addresses: Sequence[str], reason: str, detail: str = ""
) -> None:
    """Put addresses on the list for every type (a bounce, a complaint, a refusal); an
    address already there keeps its first reason."""
    rows = [
        {
            "org_id": org_id,
            "email": key,
            "type": ALL_TYPES,
            "reason": reason,
            "detail": detail[:2000] or None,
            "created_at": now(),
        }
        for key in {k for k in (_key(a) for a in addresses) if k}
    ]
    insert_ignoring_conflicts(session, Suppression, rows, Suppression.id)


def unsubscribe(session: Any, org_id: int, type_name: str, addresses: Sequence[str]) -> None:
    """Record the unsubscribe; a user's matching preference is turned off too."""
    keys = {key_of(a) for a in addresses}
    done = set(
        session.scalars(
            select(Suppression.email).where(
                Suppression.org_id == org_id,
                Suppression.type == type_name,
                Suppression.email.in_(keys),
            )
        )
    )
    for key in keys - done:
        session.add(Suppression(org_id=org_id, email=key, type=type_name, reason="unsubscribe"))
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


def lift(session: Any, org_id: int, address: str) -> int:
    """Take the address off the list (every type and reason); how many entries went."""
    result: Any = session.execute(
        delete(Suppression)
        .where(Suppression.org_id == org_id, Suppression.email == address.lower())
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)


def page(session: Any, org_id: int, limit: int, cursor: int | None) -> tuple[list[Any], str | None]:
    """The list, newest first: one page and the cursor of the next."""
    stmt = select(Suppression).where(Suppression.org_id == org_id)
    if cursor:
        stmt = stmt.where(Suppression.id < cursor)
    rows = list(session.scalars(stmt.order_by(Suppression.id.desc()).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (str(rows[-1].id) if more else None)
