"""The jobs workers run (RQ entry points, referenced by name): ids in, app context inside.

`hub worker` runs each job inside the app's context (hub/worker.py); these functions
fetch the app, its session and its services from there and call the core.
"""

from __future__ import annotations

import inspect
import logging
import time
from datetime import datetime, timedelta
from typing import Any

from flask import Flask, current_app, g

from hub.core import clock, deadlines, retention
from hub.core.connections.context import build_context
from hub.core.db import scope_to_org
from hub.core.models import Integration
from hub.core.runs import dispatch, recovery
from hub.core.runs import execute as runs
from hub.core.runs.scheduling import RecurringJob, register_core_job, register_plugin_jobs, registry
from hub.core.timeouts import HookTimeout, deadline
from hub.extensions import db

log = logging.getLogger(__name__)

CHUNK = 100
_BUILT = "hub.recurring_built"


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
    batch, timeout = int(app.config["HUB_RUN_BATCH"]), dispatch.drain_job_timeout(app.config)
    until = time.monotonic() + dispatch.DRAIN_SECONDS
    performed, first = 0, True
    while True:
        event_ids = dispatch.take_pending(client, batch, timeout, first)
        performed += runs.dispatch_and_execute(app, db.session, event_ids, _should_stop)
        if len(event_ids) < batch or time.monotonic() >= until or _should_stop():
            return performed
        first = False


def execute_runs(run_ids: list[int]) -> int:
    """Perform these runs (the ones still queued and due)."""
    return runs.execute_runs(_app(), db.session, run_ids, _should_stop)


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


def placeholder(app: Flask) -> None:
    """A slot kept for a subsystem that registers its own job under this name."""


def recurring(app: Flask) -> dict[str, RecurringJob]:
    """The core's and the plugins' recurring jobs, declared once per process."""
    if not app.extensions.get(_BUILT):
        sweep = int(app.config["HUB_SWEEP_SECONDS"])
        register_core_job(app, "outbox_sweep", sweep, sweep_outbox)
        register_core_job(app, "run_sweep", sweep, sweep_runs)
        register_core_job(
            app, "deadline_scan", app.config["HUB_DEADLINE_SCAN_CRON"], scan_deadlines
        )
        register_core_job(app, "retention", app.config["HUB_RETENTION_CRON"], prune_finished)
        for name, setting in (
            ("token_refresh", "TOKEN_REFRESH"),
            ("health_checks", "HEALTH_CHECK"),
        ):
            cron = app.config[f"HUB_{setting}_CRON"]
            register_core_job(app, name, cron, placeholder, replace=False)
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
        dispatch.enqueue_job(
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
