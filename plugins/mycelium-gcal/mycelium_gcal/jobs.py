"""The plugin's jobs: set-up on connect, the 15-minute upkeep, sweeps, syncs, meeting pushes.

Jobs take organization ids (``hub.enqueue``) and ask the hub for the context; the state
they resume from is in the plugin's tables, so a job lost with Redis is made good by the
next 15-minute upkeep, which looks at every connected organization.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sqlalchemy import select

import hub
from hub import HubError, PluginContext, RateLimited, now
from mycelium_gcal import access, channels, meeting_push, sync, window
from mycelium_gcal.models import Meeting

log = logging.getLogger(__name__)
PLUGIN = "gcal"
POLL_EVERY = timedelta(minutes=15)  # without pushes, changes in Google come back this often
SWEEP_BUDGET_SECONDS = 480.0  # within the job's 600 s; a longer sweep continues in a new job
SYNC_ROUNDS = 5


def _context(org_id: int) -> PluginContext | None:
    ctx = hub.context_for(PLUGIN, org_id)
    return ctx if ctx is not None and access.connected(ctx) else None


def _step(ctx: PluginContext, name: str, work: Callable[[], Any]) -> bool:
    """Run one step; a failure is logged and rolled back. False: stop (rate limited)."""
    try:
        work()
        ctx.db.commit()
    except RateLimited as exc:
        ctx.db.rollback()
        ctx.log.info("google calendar %s waits: %s", name, exc.message)
        return False
    except HubError as exc:
        ctx.db.rollback()
        ctx.log.warning("google calendar %s failed: %s", name, exc.message)
    return True


def setup(org_id: int) -> None:
    """Just connected: watch the calendar, read it once (the sync token), sweep the window."""
    ctx = _context(org_id)
    if ctx is None:
        return
    if _step(ctx, "channel", lambda: channels.open_channel(ctx)):
        _step(ctx, "sync", lambda: _sync(ctx))
    sweep(org_id)


def maintain(ctx: PluginContext) -> None:
    """Every 15 minutes per connected organization: renew the push channel, poll when no
    push came, queue the sweep when due, and push meetings that wait for Google."""
    if not access.connected(ctx):
        return
    if channels.needs_channel(ctx) and not _step(ctx, "channel", lambda: _renew(ctx)):
        return
    state = window.state_of(ctx)
    quiet = state.last_push_at is None or state.last_push_at <= now() - POLL_EVERY
    if quiet or state.sync_token is None or state.calendar_id != access.config(ctx)["calendar_id"]:
        queue_sync(ctx, ctx.org.id)
    if window.due(ctx):
        hub.enqueue("mycelium_gcal.jobs.sweep", ctx.org.id)
    _step(ctx, "meetings", lambda: meeting_push.push_all(ctx))


def _renew(ctx: PluginContext) -> None:
    channels.open_channel(ctx)


def sweep(org_id: int) -> None:
    """Bring the deadline window in line (one sweep per organization at a time)."""
    ctx = _context(org_id)
    if ctx is None:
        return
    with access.locked(ctx, "sweep", wait=0) as had:
        if not had:
            return
        result: list[window.Report] = []
        _step(ctx, "sweep", lambda: result.append(window.sweep(ctx, SWEEP_BUDGET_SECONDS)))
    if result and not result[0].complete:
        hub.enqueue("mycelium_gcal.jobs.sweep", org_id)


def queue_sync(ctx: PluginContext, org_id: int) -> bool:
    """Queue an incremental sync unless one is queued already; whether this queued it."""
    if ctx.redis is None or ctx.redis.set(f"gcal:sync-queued:{org_id}", "1", nx=True, ex=60):
        hub.enqueue("mycelium_gcal.jobs.sync_calendar", org_id)
        return True
    return False


def sync_calendar(org_id: int) -> None:
    """Read the calendar's changes; a notification during the sync makes it read again."""
    ctx = _context(org_id)
    if ctx is None:
        return
    if ctx.redis is not None:
        ctx.redis.delete(f"gcal:sync-queued:{org_id}")
    _step(ctx, "sync", lambda: _sync(ctx))


def _sync(ctx: PluginContext) -> None:
    with access.locked(ctx, "sync", wait=0) as had:
        if not had:
            if ctx.redis is not None:
                ctx.redis.set(f"gcal:sync-again:{ctx.org.id}", "1", ex=600)
            return
        for _ in range(SYNC_ROUNDS):
            sync.sync_changes(ctx)
            if ctx.redis is None or not ctx.redis.delete(f"gcal:sync-again:{ctx.org.id}"):
                return


def push_meetings(org_id: int) -> None:
    """Push this organization's meetings that wait for Google."""
    ctx = _context(org_id)
    if ctx is not None:
        _step(ctx, "meetings", lambda: meeting_push.push_all(ctx))


def due_meetings() -> list[int]:
    """Every minute: one push job per organization with a meeting due (retries, Meet links);
    one indexed query, however many organizations there are."""
    session = hub.db_session()
    stmt = (
        select(Meeting.org_id)
        .where(Meeting.pending.is_(True), Meeting.next_attempt_at <= now())
        .group_by(Meeting.org_id)
    )
    org_ids = list(session.scalars(stmt))
    session.commit()
    for org_id in org_ids:
        hub.enqueue("mycelium_gcal.jobs.push_meetings", org_id)
    return org_ids
