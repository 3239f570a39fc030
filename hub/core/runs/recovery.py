"""The sweepers and manual retry: nothing committed is lost when jobs or workers are.

Every few seconds the outbox sweeper hands undispatched events to the workers again (their
push was lost: Redis down or flushed), and the run sweeper puts back runs whose worker
died (lease expired), resumes runs that waited for a reconnect once their integration is
enabled again, and enqueues due runs that have no live job (retries coming due, jobs lost
with a flushed Redis).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from sqlalchemy import or_, select, update

from hub.core import clock
from hub.core.connections.context import AppLike
from hub.core.db import AnySession
from hub.core.models import Event, Integration, Run
from hub.core.runs import pending
from hub.core.runs.pending import drain_job_timeout, enqueue_job
from hub.core.scoping import get_owned
from hub.errors import Conflict

log = logging.getLogger(__name__)
SWEEP_LIMIT = 20_000
RETRYABLE = ("failed", "queued")


def undispatched(session: AnySession, older_than: float | None) -> list[str]:
    """Ids of events never dispatched, committed more than `older_than` seconds ago (None: any)."""
    stmt = select(Event.id).where(Event.dispatched_at.is_(None))
    if older_than is not None:
        stmt = stmt.where(Event.created_at <= clock.now() - timedelta(seconds=older_than))
    ids = list(session.scalars(stmt.order_by(Event.seq).limit(SWEEP_LIMIT)))
    session.commit()
    return ids


def sweep_outbox(session: AnySession, app: AppLike, everything: bool = False) -> int:
    """Hand undispatched events to the workers again (their push was lost); how many.

    Events younger than HUB_OUTBOX_GRACE are left to their own push unless `everything`.
    """
    client = app.extensions["hub.redis"]
    if not everything and client.llen(pending.PENDING):
        # Workers are behind, not lost: re-pushing the backlog would only duplicate it.
        # Make sure a drain job exists; lost pushes are found once the list is empty.
        if client.set(pending.KICK, "1", nx=True, ex=pending.KICK_TTL):
            enqueue_job(client, "hub.jobs.drain_events", timeout=drain_job_timeout(app.config))
        return 0
    ids = undispatched(session, None if everything else float(app.config["HUB_OUTBOX_GRACE"]))
    if ids:
        log.info("outbox sweeper: %d undispatched event(s)", len(ids))
        pending.push_events(client, ids, drain_job_timeout(app.config))
    return len(ids)


# ----- runs -----


def _bulk(session: AnySession, stmt: Any) -> int:
    result = session.execute(stmt.execution_options(synchronize_session=False))
    return int(result.rowcount)  # type: ignore[attr-defined]


def expire_leases(session: AnySession, max_attempts: int) -> int:
    """Runs whose worker stopped mid-run: queued again, or failed past the attempt limit."""
    now = clock.now()
    lost = (Run.state == "running", Run.lease_until < now)
    _bulk(
        session,
        update(Run)
        .where(*lost, Run.attempts >= max_attempts)
        .values(state="failed", finished_at=now, lease_until=None)
        .values(last_error="The worker running it stopped too many times.", updated_at=now),
    )
    return _bulk(
        session,
        update(Run)
        .where(*lost)
        .values(state="queued", lease_until=None, enqueued_at=None, next_attempt_at=now)
        .values(updated_at=now),
    )


def resume_waiting(session: AnySession) -> int:
    """Runs that waited for a reconnect, queued again once their integration is enabled."""
    ready = select(Integration.id).where(
        Integration.enabled.is_(True), Integration.status == "enabled"
    )
    now = clock.now()
    return _bulk(
        session,
        update(Run)
        .where(Run.state == "waiting", Run.integration_id.in_(ready))
        .values(state="queued", next_attempt_at=now, enqueued_at=None, updated_at=now),
    )


def due_without_job(session: AnySession, requeue_after: float) -> list[int]:
    """Queued, due runs never enqueued or enqueued longer ago than `requeue_after` seconds."""
    now = clock.now()
    cutoff = now - timedelta(seconds=requeue_after)
    stmt = (
        select(Run.id)
        .where(Run.state == "queued", Run.next_attempt_at <= now)
        .where(or_(Run.enqueued_at.is_(None), Run.enqueued_at <= cutoff))
        .order_by(Run.next_attempt_at)
        .limit(SWEEP_LIMIT)
    )
    return list(session.scalars(stmt))


def enqueue_runs(app: AppLike, run_ids: Sequence[int]) -> None:
    """Jobs of up to HUB_RUN_BATCH runs each."""
    size = int(app.config["HUB_RUN_BATCH"])
    client = app.extensions["hub.redis"]
    for start in range(0, len(run_ids), size):
        chunk = list(run_ids[start : start + size])
        enqueue_job(client, "hub.jobs.execute_runs", chunk, timeout=drain_job_timeout(app.config))


def mark_enqueued(session: AnySession, run_ids: Sequence[int]) -> None:
    if run_ids:
        _bulk(
            session,
            update(Run)
            .where(Run.id.in_(run_ids), Run.state == "queued")
            .values(enqueued_at=clock.now()),
        )


def sweep_runs(session: AnySession, app: AppLike, requeue_after: float | None = None) -> int:
    """One pass of the run sweeper; how many runs it enqueued."""
    wait = float(app.config["HUB_RUN_REQUEUE_AFTER"] if requeue_after is None else requeue_after)
    expire_leases(session, int(app.config["HUB_RUN_MAX_ATTEMPTS"]))
    resume_waiting(session)
    run_ids = due_without_job(session, wait)
    session.commit()
    if run_ids:
        enqueue_runs(app, run_ids)  # before marking: a failed enqueue leaves them for next time
        mark_enqueued(session, run_ids)
        session.commit()
    return len(run_ids)


def retry_run(session: AnySession, org_id: int, run_id: int) -> Run:
    """An admin's retry: a failed or queued run is queued now with a fresh attempt count."""
    run = get_owned(session, Run, org_id, run_id)
    if run.state not in RETRYABLE:
        raise Conflict(
            f"Only failed or queued runs can be retried; this one is {run.state}.",
            {"state": [run.state]},
        )
    integration = session.get(Integration, run.integration_id)
    if integration is None or not integration.enabled:
        raise Conflict("The integration is disabled; enable it first.", {"plugin": [run.plugin]})
    now = clock.now()
    run.state, run.attempts, run.next_attempt_at = "queued", 0, now
    run.enqueued_at, run.finished_at, run.lease_until = None, None, None
    run.updated_at = now
    return run
