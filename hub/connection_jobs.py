"""The connections subsystem in an app: its hook points, its recurring jobs, its RQ jobs.

``init_app`` fills the hook points ``ctx.http`` calls (``hub.quota``: the org x provider
rate limit; ``hub.usage``: the usage recorder), the API's per-key limit, and declares
the recurring jobs: token refresh, health checks, usage flush and history pruning.
"""

from __future__ import annotations

import logging

from flask import Flask, current_app

from hub.core.connections import health, upkeep, usage
from hub.core.db import scope_to_org
from hub.core.models import Integration
from hub.core.ratelimit import Limiter, parse_api_limit
from hub.core.runs import dispatch
from hub.core.runs.scheduling import register_core_job
from hub.extensions import db

log = logging.getLogger(__name__)
CHECK_CHUNK = 25
PRUNE_CRON = "17 3 * * *"


def init_app(app: Flask) -> None:
    client = app.extensions["hub.redis"]
    limiter = Limiter(
        client,
        parse_api_limit(str(app.config["HUB_API_RATE_LIMIT"])),
        parse_api_limit(str(app.config["HUB_AUTH_FAIL_LIMIT"])),
    )
    app.extensions["hub.limiter"] = limiter
    app.extensions["hub.quota"] = limiter.check_provider
    app.extensions["hub.usage"] = usage.UsageRecorder(client)
    register_core_job(app, "token_refresh", app.config["HUB_TOKEN_REFRESH_CRON"], refresh_tokens)
    register_core_job(app, "health_checks", app.config["HUB_HEALTH_CHECK_CRON"], health_checks)
    register_core_job(app, "usage_flush", int(app.config["HUB_USAGE_FLUSH_SECONDS"]), flush_usage)
    register_core_job(app, "history_prune", PRUNE_CRON, prune_history)


def refresh_tokens(app: Flask) -> None:
    """Hourly: refresh tokens expiring before the next slot; keep idle connections alive."""
    refreshed = upkeep.refresh_expiring(app, db.session)
    kept = upkeep.keep_idle_alive(app, db.session, app.extensions["hub.redis"])
    if refreshed or kept:
        log.info("tokens refreshed: %d; idle connections kept alive: %d", refreshed, kept)


def health_checks(app: Flask) -> None:
    """Every 15 minutes: enqueue the health checks of every enabled integration, in chunks."""
    plugins = app.extensions["hub.plugins"]
    names = [name for name in plugins.providers if plugins.implements(name, "health_check")]
    ids = health.due_for_checks(db.session, names)
    db.session.commit()
    client = app.extensions["hub.redis"]
    for start in range(0, len(ids), CHECK_CHUNK):
        chunk = ids[start : start + CHECK_CHUNK]
        dispatch.enqueue_job(client, "hub.connection_jobs.check_integrations", chunk)


def check_integrations(integration_ids: list[int]) -> int:
    """An RQ job: the health checks of these integrations; how many were recorded."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
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


def flush_usage(app: Flask) -> None:
    usage.drain(db.session(), app.extensions["hub.redis"])


def prune_history(app: Flask) -> None:
    days = int(app.config["HUB_USAGE_RETENTION_DAYS"])
    usage.prune(db.session(), days)
    health.prune(db.session, days)
