"""The deadline scan: ``deliverable.due_soon`` once when an open deliverable enters its
organization's due-soon window, ``deliverable.overdue`` once when it passes due, never again.

"Once" is a unique row per (deliverable, kind), inserted with ON CONFLICT DO NOTHING in
the same transaction as the event: two schedulers scanning at once cannot both emit.
Queries are per distinct window length, not per organization.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ForeignKey, Select, String, UniqueConstraint, exists, select
from sqlalchemy.orm import Mapped, mapped_column

from hub.core import clock, events
from hub.core.db import AnySession, insert_ignoring_conflicts
from hub.core.deliverables import render_deliverable
from hub.core.models import Base, Deliverable, Organization, OrgScoped

CHUNK = 500
KINDS = ("due_soon", "overdue")


class DeadlineNotice(OrgScoped, Base):
    """That a deliverable's due-soon or overdue event was emitted."""

    __tablename__ = "deadline_notices"
    __table_args__ = (UniqueConstraint("deliverable_id", "kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    deliverable_id: Mapped[int] = mapped_column(ForeignKey("deliverables.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(default=clock.now)


def _open_unnoticed(kind: str) -> Select[Any]:
    noticed = exists().where(
        DeadlineNotice.deliverable_id == Deliverable.id, DeadlineNotice.kind == kind
    )
    return (
        select(Deliverable)
        .where(Deliverable.status != "completed", Deliverable.due_at.is_not(None))
        .where(~noticed)
        .order_by(Deliverable.id)
        .limit(CHUNK)
    )


def due_soon(hours: int, now: datetime) -> Select[Any]:
    """Open deliverables of orgs with this window, due within it, not yet noticed."""
    window = now + timedelta(hours=hours)
    return (
        _open_unnoticed("due_soon")
        .join(Organization, Organization.id == Deliverable.org_id)
        .where(Organization.due_soon_hours == hours)
        .where(Deliverable.due_at > now, Deliverable.due_at <= window)
    )


def overdue(now: datetime) -> Select[Any]:
    return _open_unnoticed("overdue").where(Deliverable.due_at <= now)


def _notify(session: AnySession, kind: str, found: Sequence[Deliverable]) -> int:
    """Claim each notice; emit the event of those this scan claimed first."""
    rows = [
        {"org_id": d.org_id, "deliverable_id": d.id, "kind": kind, "created_at": clock.now()}
        for d in found
    ]
    claimed = set(
        insert_ignoring_conflicts(session, DeadlineNotice, rows, DeadlineNotice.deliverable_id)
    )
    for deliverable in found:
        if deliverable.id in claimed:
            payload = render_deliverable(deliverable)
            events.record(session, deliverable.org_id, f"deliverable.{kind}", payload)
    session.commit()
    return len(claimed)


def _drain(session: AnySession, kind: str, stmt: Select[Any]) -> int:
    emitted = 0
    while True:
        found = list(session.scalars(stmt).unique())
        if not found:
            session.commit()
            return emitted
        claimed = _notify(session, kind, found)
        emitted += claimed
        if not claimed:  # another scanner took all of them; it will take the rest
            return emitted


def scan_deadlines(session: AnySession) -> int:
    """Emit every due-soon and overdue event that is due now; how many."""
    now = clock.now()
    windows = list(session.scalars(select(Organization.due_soon_hours).distinct()))
    emitted = sum(_drain(session, "due_soon", due_soon(hours, now)) for hours in windows)
    return emitted + _drain(session, "overdue", overdue(now))
