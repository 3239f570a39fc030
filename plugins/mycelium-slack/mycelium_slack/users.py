"""Who is who in Slack: hub users matched to workspace members by email (any case)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select

from hub import now
from mycelium_slack import hubdata
from mycelium_slack.blocks import mention
from mycelium_slack.client import SlackClient, SlackPerson
from mycelium_slack.hubdata import Db
from mycelium_slack.models import SlackUser


@dataclass(frozen=True)
class SyncResult:
    matched: int
    unmatched: int

    def summary(self) -> str:
        return f"{self.matched} mapped, {self.unmatched} without a Slack account"


def _by_email(members: Iterable[SlackPerson]) -> dict[str, SlackPerson]:
    return {m.email.lower(): m for m in members if m.email}


def _save(session: Db, org_id: int, user: hubdata.Person, member: SlackPerson) -> None:
    row = session.scalar(
        select(SlackUser).where(SlackUser.org_id == org_id, SlackUser.user_id == user.id)
    )
    if row is None:
        row = SlackUser(org_id=org_id, user_id=user.id)
        session.add(row)
    row.slack_user_id = member.id
    row.slack_username = member.name[:255]
    row.email = user.email
    row.synced_at = now()


def sync_all(session: Db, org_id: int, slack: SlackClient) -> SyncResult:
    """Match every hub user against ``users.list``; mappings that no longer match go."""
    members = _by_email(slack.people())
    team = hubdata.people(session, org_id)
    matched = [(u, members[u.email.lower()]) for u in team if u.email.lower() in members]
    for user, member in matched:
        _save(session, org_id, user, member)
    kept = [user.id for user, _ in matched]
    session.execute(
        delete(SlackUser).where(SlackUser.org_id == org_id, SlackUser.user_id.not_in(kept))
    )
    session.flush()
    return SyncResult(len(matched), len(team) - len(matched))


def sync_one(session: Db, org_id: int, user: dict[str, Any], slack: SlackClient) -> bool:
    """Map one new hub user with ``users.lookupByEmail``; whether Slack knows them."""
    person = hubdata.person(session, org_id, int(user["id"]))
    if person is None:  # deleted since the event
        return False
    member = slack.lookup_by_email(person.email)
    if member is None:
        return False
    _save(session, org_id, person, member)
    session.flush()
    return True


def slack_id_of(session: Db, org_id: int, user_id: int) -> str | None:
    return session.scalar(
        select(SlackUser.slack_user_id).where(
            SlackUser.org_id == org_id, SlackUser.user_id == user_id
        )
    )


def hub_user_of(session: Db, org_id: int, slack_user_id: str) -> int | None:
    """The hub user a Slack member maps to (the first, should two emails differ in case)."""
    return session.scalar(
        select(SlackUser.user_id)
        .where(SlackUser.org_id == org_id, SlackUser.slack_user_id == slack_user_id)
        .order_by(SlackUser.user_id)
        .limit(1)
    )


def mention_for(session: Db, org_id: int, who: dict[str, Any] | None) -> str:
    """``<@U…>`` for a mapped person, else their name, else "Unassigned"."""
    if not who:
        return "Unassigned"
    user_id = who.get("id")
    slack_id = slack_id_of(session, org_id, user_id) if isinstance(user_id, int) else None
    return mention(slack_id, who.get("name"))


def mapping(session: Db, org_id: int) -> list[dict[str, Any]]:
    """Every hub user with their Slack account, if mapped: what ``GET .../users`` shows."""
    rows = session.scalars(select(SlackUser).where(SlackUser.org_id == org_id))
    mapped = {row.user_id: row for row in rows}
    return [_render(person, mapped.get(person.id)) for person in hubdata.people(session, org_id)]


def _render(person: hubdata.Person, row: SlackUser | None) -> dict[str, Any]:
    return {
        "user_id": person.id,
        "email": person.email,
        "name": person.name,
        "slack_user_id": row.slack_user_id if row else None,
        "slack_username": row.slack_username if row else None,
        "synced_at": row.synced_at.isoformat() if row else None,
    }
