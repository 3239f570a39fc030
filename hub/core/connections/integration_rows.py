"""Integration rows under concurrency: read locked, created once, one owner per account.

Every change to an integration (enable, change, disable, connect, disconnect) reads its
row with ``SELECT ... FOR UPDATE`` (PostgreSQL; SQLite's write transaction already
serialises writers) and afresh, so concurrent requests apply one after the other instead
of overwriting each other's config or each emitting ``integration.enabled``.

An external account (a workspace or an account at the provider) belongs to at most one enabled
integration of a plugin: the provider's requests for that account are routed to it. A
partial unique index keeps it so; the checks here say it with a clear message first.
"""

from __future__ import annotations

from sqlalchemy import select

from hub.core import clock
from hub.core.db import AnySession, insert_ignoring_conflicts
from hub.core.models import Integration
from hub.errors import Conflict

NOT_CONNECTED = "not_connected"


class AccountTaken(Conflict):
    """The external account is connected to another organization's integration."""

    code = "account_already_connected"


def find_locked(session: AnySession, org_id: int, name: str) -> Integration | None:
    """The org's integration of `name`, read afresh and locked until the transaction ends."""
    stmt = (
        select(Integration)
        .where(Integration.org_id == org_id, Integration.plugin == name)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return session.scalar(stmt)


def locked_or_new(session: AnySession, org_id: int, name: str) -> Integration:
    """The org's integration of `name`, locked; created (disabled) if it had none. Two
    requests creating it at once both get the one row (the loser's insert does nothing)."""
    row = find_locked(session, org_id, name)
    if row is None:
        now = clock.now()
        blank = {"org_id": org_id, "plugin": name, "enabled": False, "status": "disabled"}
        extra = {"config": {}, "secrets": {}, "consecutive_errors": 0}
        stamps = {"created_at": now, "updated_at": now}
        insert_ignoring_conflicts(session, Integration, [blank | extra | stamps], Integration.id)
        row = find_locked(session, org_id, name)
    assert row is not None  # inserted just now, or by the request that won the race
    return row


def account_held_elsewhere(session: AnySession, row: Integration, account_id: str) -> bool:
    """Does another enabled integration of `row`'s plugin hold `account_id`?"""
    # Core columns, not the ORM entity: the request's session sees only its own
    # organization's rows, and the holder is by definition another organization's.
    table = Integration.__table__.c
    stmt = select(table.id).where(
        table.plugin == row.plugin,
        table.external_account_id == account_id,
        table.enabled.is_(True),
        table.id != row.id,
    )
    return session.execute(stmt).first() is not None


def check_account_free(session: AnySession, row: Integration, account_id: str | None) -> None:
    """Refuse (409 ``account_already_connected``) an account another enabled integration of
    the same plugin holds: one workspace's requests cannot go to two organizations."""
    if account_id and account_held_elsewhere(session, row, account_id):
        raise AccountTaken(
            f"The {row.plugin} account {account_id} is already connected to another "
            "organization; disconnect it there first.",
            {"external_account_id": ["Connected to another organization."]},
        )
