"""The window sweep: every deliverable due within ``sync_window_days`` has its event, and
events of deliverables that left the window (or were deleted) go.

It runs when Google Calendar is connected, daily, when the config or the organization's
time zone changes, and when a client or a team member changes (their names are in the
events). It reads the window and the recorded events in two queries, compares in memory,
and calls Google only for the deliverables whose event differs: a sweep of an unchanged
window makes no call. Each change is recorded as it is made, so a sweep cut short (a rate
limit, a worker stopped) resumes where it was on its next run.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import and_, or_, select

from hub import Deliverable, PluginContext, now, render_deliverable
from mycelium_gcal import access, events
from mycelium_gcal.models import DeadlineEvent, SyncState

DAILY = timedelta(hours=24)


@dataclass
class Report:
    """What a sweep did: deliverables per action, and whether it got through the window."""

    actions: dict[str, int] = field(default_factory=dict)
    complete: bool = True

    def count(self, action: str) -> None:
        self.actions[action] = self.actions.get(action, 0) + 1

    @property
    def calls_needed(self) -> int:
        return sum(n for action, n in self.actions.items() if action != "none")


def state_of(ctx: PluginContext) -> SyncState:
    """The organization's sync state row, made on first use."""
    stmt = select(SyncState).where(SyncState.org_id == ctx.org.id)
    row = ctx.db.scalar(stmt.execution_options(populate_existing=True))
    if row is None:
        calendar = str(access.config(ctx)["calendar_id"])
        row = SyncState(org_id=ctx.org.id, calendar_id=calendar)
        ctx.db.add(row)
        ctx.db.flush()
    return row


def config_hash(ctx: PluginContext) -> str:
    """What a sweep depends on besides the deliverables: the config and the time zone."""
    basis = {"config": access.config(ctx), "timezone": ctx.org.timezone}
    return hashlib.sha256(json.dumps(basis, sort_keys=True).encode()).hexdigest()


def request(ctx: PluginContext) -> None:
    """Ask for a sweep: recorded (the 15-minute job finds it), and queued after commit."""
    state_of(ctx).sweep_requested_at = now()
    access.enqueue_after_commit(ctx, "sweep", ctx.org.id)


def due(ctx: PluginContext) -> bool:
    """Requested, a day old, or made under another config or time zone."""
    state = state_of(ctx)
    stale = state.last_sweep_at is None or state.last_sweep_at <= now() - DAILY
    return bool(state.sweep_requested_at) or stale or state.swept_config != config_hash(ctx)


def _window(ctx: PluginContext) -> list[Deliverable]:
    """Deliverables that should have an event, or have one."""
    cfg, at = access.config(ctx), now()
    end = at + timedelta(days=int(cfg["sync_window_days"]))
    present = select(DeadlineEvent.deliverable_id).where(
        DeadlineEvent.org_id == ctx.org.id, DeadlineEvent.present.is_(True)
    )
    stmt = select(Deliverable).where(
        Deliverable.org_id == ctx.org.id,
        Deliverable.due_at.is_not(None),
        Deliverable.due_at <= end,
        or_(
            and_(Deliverable.status != "completed", Deliverable.due_at >= at),
            Deliverable.id.in_(present),
        ),
    )
    return list(ctx.db.scalars(stmt))


def _recorded(ctx: PluginContext) -> dict[int, DeadlineEvent]:
    stmt = select(DeadlineEvent).where(DeadlineEvent.org_id == ctx.org.id)
    return {row.deliverable_id: row for row in ctx.db.scalars(stmt)}


def differing(ctx: PluginContext) -> list[int]:
    """Deliverable ids whose event is not what it should be (found without the network)."""
    rows = _recorded(ctx)
    found = {d.id: render_deliverable(d) for d in _window(ctx)}
    todo = [i for i, d in found.items() if events.plan(ctx, d, rows.get(i), i).action != "none"]
    gone = [i for i, row in rows.items() if row.present and i not in found]
    return sorted(todo + gone)


def sweep(ctx: PluginContext, budget_seconds: float | None = None) -> Report:
    """Bring the window in line; stops early (``complete=False``) past the budget."""
    started, report = time.monotonic(), Report()
    requested_at = state_of(ctx).sweep_requested_at
    basis = config_hash(ctx)
    todo = differing(ctx)
    access.end_transaction(ctx)
    for deliverable_id in todo:
        if budget_seconds is not None and time.monotonic() - started > budget_seconds:
            report.complete = False
            return report
        report.count(events.sync_deliverable(ctx, deliverable_id))
    _done(ctx, requested_at, basis)
    return report


def _done(ctx: PluginContext, requested_at: object, basis: str) -> None:
    state = state_of(ctx)
    state.last_sweep_at, state.swept_config = now(), basis
    if state.sweep_requested_at == requested_at:  # a request made meanwhile still stands
        state.sweep_requested_at = None
    ctx.db.commit()
