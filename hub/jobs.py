"""Every job a worker runs: the RQ entry points (ids in, app context inside) and the table of
the core's recurring jobs, in one place.

`hub worker` runs each job inside the app's context (hub/worker.py); these functions
fetch the app, its session and its services from there and call the core. Jobs are
queued in Redis by dotted name (``hub.jobs.drain_events``): a job renamed keeps its old
name in :data:`RENAMED` for one release, so an upgrade with a non-empty queue loses nothing.
"""

from __future__ import annotations

import inspect
import logging
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from flask import Flask, current_app, g
from rq.job import Job
from rq.utils import import_attribute

from hub.core import clock, deadlines, retention
from hub.core.connections import health, upkeep, usage
from hub.core.connections.context import build_context
from hub.core.db import scope_to_org
from hub.core.models import Integration
from hub.core.runs import execute as runs
from hub.core.runs import pending, recovery
from hub.core.runs.scheduling import RecurringJob, register_core_job, register_plugin_jobs, registry
from hub.core.timeouts import HookTimeout, deadline
from hub.core.webhooks import queue as webhooks_queue
from hub.default_plugins import webhooks as webhooks_plugin
from hub.extensions import db

log = logging.getLogger(__name__)

CHUNK = 100
CHECK_CHUNK = 25
PRUNE_CRON = "17 3 * * *"
_BUILT = "hub.recurring_built"

# Jobs queued under an old dotted name run the new function (kept one release: 0.x -> 0.y).
RENAMED = {
    "hub.connection_jobs.check_integrations": "hub.jobs.check_integrations",
    "hub.default_plugins.webhooks.deliver_due": "hub.jobs.deliver_webhooks",
}


class HubJob(Job):
    """RQ's Job, resolving the names in :data:`RENAMED` (``hub worker`` uses this class)."""

    @property
    def func(self) -> Any:
        renamed = RENAMED.get(self.func_name or "")
        return import_attribute(renamed) if renamed else super().func


def _app() -> Flask:
    return current_app._get_current_object()  # type: ignore[attr-defined]


def _should_stop() -> bool:
    """Has the worker running this job been asked to stop (SIGTERM)?"""
    worker = g.get("hub_worker")
    return bool(getattr(worker, "_stop_requested", False))


# ----- events and runs -----


def drain_events() -> int:
    """Dispatch pending events a batch at a time and perform the runs this created, while
    events are pending, for up to DRAIN_SECONDS; how many runs."""
    app = _app()
    client = app.extensions["hub.redis"]
    batch, timeout = int(app.config["HUB_RUN_BATCH"]), pending.drain_job_timeout(app.config)
    until = time.monotonic() + pending.DRAIN_SECONDS
    performed, first = 0, True
    while True:
        event_ids = pending.take_pending(client, batch, timeout, first)
        performed += runs.dispatch_and_execute(app, db.session, event_ids, _should_stop)
        if webhooks_queue.deliveries_committed():
            # this worker's pump starts on them now, not when the job ends (up to
            # DRAIN_SECONDS later); the kick at the job's end still queues a pump job
            webhooks_plugin.pump_loop(app).wake()
        if len(event_ids) < batch or time.monotonic() >= until or _should_stop():
            return performed
        first = False


def execute_runs(run_ids: list[int]) -> int:
    """Perform these runs (the ones still queued and due)."""
    return runs.execute_runs(_app(), db.session, run_ids, _should_stop)


# ----- outgoing webhooks and connections -----


def deliver_webhooks() -> None:
    """The pump job: wake this worker's pump, which sends every due delivery in a thread of
    its own; the job returns at once, so no destination ever holds the worker."""
    webhooks_plugin.deliver_due()


def check_integrations(integration_ids: list[int]) -> int:
    """The health checks of these integrations; how many were recorded."""
    app = _app()
    done = 0
    for row_id in integration_ids:
        row = db.session.get(Integration, row_id)
        if row is None or not row.enabled or row.status != "enabled":
            continue
        scope_to_org(db.session, row.org_id)
        try:
            done += health.check(app, db.session, row) is not None
        finally:
            scope_to_org(db.session, None)
    return done


# ----- recurring jobs -----


def sweep_outbox(app: Flask) -> None:
    recovery.sweep_outbox(db.session, app)


def sweep_runs(app: Flask) -> None:
    recovery.sweep_runs(db.session, app)


def scan_deadlines(app: Flask) -> None:
    count = deadlines.scan_deadlines(db.session)
    if count:
        log.info("deadline scan: %d event(s)", count)


def prune_finished(app: Flask) -> None:
    """Delete finished runs, events and deliveries past HUB_RETENTION_DAYS, within a time
    budget so the job ends well inside RQ's limit; what is left goes at the next slot."""
    days = app.config["HUB_RETENTION_DAYS"]
    if days is None:
        return
    until = time.monotonic() + retention.JOB_SECONDS
    counts = retention.prune(
        db.session,
        clock.now(),
        timedelta(days=days),
        stop=lambda: time.monotonic() >= until or _should_stop(),
    )
    if any(counts.values()):
        log.info("retention: deleted %s", counts)


def sweep_webhooks(app: Flask) -> None:
    """Start the pump when a delivery no worker holds is due: a retry's time came, or its
    pump job was lost (retries are timed by the database)."""
    webhooks_plugin.sweep(app)


def refresh_tokens(app: Flask) -> None:
    """Refresh tokens expiring before the next slot; keep idle connections alive."""
    refreshed = upkeep.refresh_expiring(app, db.session)
    kept = upkeep.keep_idle_alive(app, db.session, app.extensions["hub.redis"])
    if refreshed or kept:
        log.info("tokens refreshed: %d; idle connections kept alive: %d", refreshed, kept)


def health_checks(app: Flask) -> None:
    """Enqueue the health checks of every enabled integration, in chunks."""
    plugins = app.extensions["hub.plugins"]
    names = [name for name in plugins.providers if plugins.implements(name, "health_check")]
    ids = health.due_for_checks(db.session, names)
    db.session.commit()
    client = app.extensions["hub.redis"]
    for start in range(0, len(ids), CHECK_CHUNK):
        chunk = ids[start : start + CHECK_CHUNK]
        pending.enqueue_job(client, "hub.jobs.check_integrations", chunk)


def flush_usage(app: Flask) -> None:
    usage.drain(db.session(), app.extensions["hub.redis"])


def prune_history(app: Flask) -> None:
    days = int(app.config["HUB_USAGE_RETENTION_DAYS"])
    usage.prune(db.session(), days)
    health.prune(db.session, days)


# The core's recurring jobs: (name, when: a setting's name or a cron, function(app)).
# A setting ending in _SECONDS is an interval; any other is a cron expression.
CORE_JOBS: tuple[tuple[str, str, Callable[[Flask], None]], ...] = (
    ("outbox_sweep", "HUB_SWEEP_SECONDS", sweep_outbox),
    ("run_sweep", "HUB_SWEEP_SECONDS", sweep_runs),
    ("webhook_sweep", "HUB_SWEEP_SECONDS", sweep_webhooks),
    ("deadline_scan", "HUB_DEADLINE_SCAN_CRON", scan_deadlines),
    ("retention", "HUB_RETENTION_CRON", prune_finished),
    ("token_refresh", "HUB_TOKEN_REFRESH_CRON", refresh_tokens),
    ("health_checks", "HUB_HEALTH_CHECK_CRON", health_checks),
    ("usage_flush", "HUB_USAGE_FLUSH_SECONDS", flush_usage),
    ("history_prune", PRUNE_CRON, prune_history),
)


def init_app(app: Flask) -> None:
    """Declare the core's recurring jobs (:data:`CORE_JOBS`) on the app."""
    for name, when, function in CORE_JOBS:
        schedule: str | int = when
        if when.endswith("_SECONDS"):
            schedule = int(app.config[when])
        elif when.startswith("HUB_"):
            schedule = app.config[when]
        register_core_job(app, name, schedule, function)


def recurring(app: Flask) -> dict[str, RecurringJob]:
    """The core's and the plugins' recurring jobs, the plugins' declared once per process."""
    if not app.extensions.get(_BUILT):
        register_plugin_jobs(app)
        app.extensions[_BUILT] = True
    return registry(app)


def run_recurring(name: str, slot: str) -> None:
    """Run one slot of a recurring job (the scheduler that claimed the slot enqueued this)."""
    app = _app()
    job = recurring(app).get(name)
    if job is None:
        log.warning("recurring job %r is not declared in this worker; slot %s skipped", name, slot)
        return
    log.debug("recurring job %s, slot %s", name, datetime.fromisoformat(slot))
    if job.plugin is None:
        job.function(app)
    elif "ctx" in inspect.signature(job.function).parameters:
        _fan_out(app, job)
    else:
        _call_plugin_job(app, job)


def _fan_out(app: Flask, job: RecurringJob) -> None:
    """A per-integration plugin job: one job per chunk of enabled integrations."""
    ids = list(
        db.session.scalars(
            db.select(Integration.id).where(
                Integration.plugin == job.plugin, Integration.enabled.is_(True)
            )
        )
    )
    db.session.commit()
    client = app.extensions["hub.redis"]
    for start in range(0, len(ids), CHUNK):
        pending.enqueue_job(
            client, "hub.jobs.run_recurring_for", job.name, ids[start : start + CHUNK]
        )


def _call_plugin_job(app: Flask, job: RecurringJob, **kwargs: Any) -> None:
    """Call a plugin's job under the run timeout; its failure is logged, never spread."""
    try:
        with deadline(float(app.config["HUB_RUN_TIMEOUT"])):
            job.function(**kwargs)
        db.session.commit()
    except (Exception, HookTimeout):
        log.exception("recurring job %s failed", job.name)
        db.session.rollback()


def run_recurring_for(name: str, integration_ids: list[int]) -> None:
    """A plugin's per-integration job for these integrations, each with its own ctx."""
    app = _app()
    job = recurring(app).get(name)
    if job is None:
        return
    for integration in db.session.scalars(
        db.select(Integration).where(Integration.id.in_(integration_ids))
    ).all():
        if not integration.enabled or integration.status != "enabled":
            continue
        scope_to_org(db.session, integration.org_id)
        try:
            _call_plugin_job(app, job, ctx=build_context(app, db.session, integration))
        finally:
            scope_to_org(db.session, None)
