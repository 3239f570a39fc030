"""Status, analytics and ROI of this organization's integrations; ``/metrics`` for operators."""

from __future__ import annotations

import hmac
import ipaddress
from collections.abc import Mapping
from typing import Any

from flask import Blueprint, Response, current_app, request
from marshmallow import Schema, fields, validate
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hub.api.auth import caller
from hub.api.routing import endpoint
from hub.core import analytics, metrics, roi
from hub.core.connections import health, tokens, usage
from hub.core.models import Integration, Run
from hub.errors import Forbidden, Unauthorized
from hub.extensions import db, get_redis
from hub.plugins import get_plugins
from hub.provider import Provider

bp = Blueprint("status", __name__)
metrics_bp = Blueprint("metrics", __name__)


class PeriodQuery(Schema):
    period = fields.String(
        load_default="weekly", validate=validate.OneOf(sorted(analytics.PERIODS))
    )


class RoiQuery(PeriodQuery):
    period = fields.String(
        load_default="monthly", validate=validate.OneOf(sorted(analytics.PERIODS))
    )


class IntegrationStatusSchema(Schema):
    plugin = fields.String()
    title = fields.String()
    enabled = fields.Boolean()
    status = fields.String(
        metadata={"enum": ["enabled", "disabled", "needs_reauth", "not_connected"]}
    )
    connected = fields.Boolean(
        allow_none=True, metadata={"description": "OAuth 2.0 plugins only; null for others."}
    )
    external_account_id = fields.String(allow_none=True)
    token_expires_at = fields.DateTime(allow_none=True)
    health = fields.Dict(allow_none=True, metadata={"description": "ok, message, checked_at"})
    last_error = fields.String(allow_none=True)
    last_error_at = fields.DateTime(allow_none=True)
    last_success_at = fields.DateTime(allow_none=True)
    consecutive_errors = fields.Integer()
    disabled_reason = fields.String(allow_none=True)
    runs = fields.Dict(metadata={"description": "Run counts: queued, running, waiting, failed."})


class StatusSchema(Schema):
    integrations = fields.List(fields.Nested(IntegrationStatusSchema))


class AnalyticsSchema(Schema):
    period = fields.String()
    since = fields.DateTime()
    until = fields.DateTime()
    timezone = fields.String()
    integrations = fields.List(
        fields.Dict(),
        metadata={
            "description": "Per integration: plugin, enabled, status; metrics (totals, "
            "error_rate, average_response_ms, p50_response_ms, p95_response_ms, uptime...); "
            "breakdown (by_feature, by_status, by_hour in the organization's hours, by_day: "
            "[{date, total, ok}]); last_24_hours: 24 hourly {hour, calls, failed_calls, "
            "checks, failed_checks, state: ok | degraded | down | idle}, oldest first."
        },
    )
    summary = fields.Dict()


class RoiSchema(Schema):
    period = fields.String()
    since = fields.DateTime()
    until = fields.DateTime()
    time_saved = fields.Dict(
        metadata={
            "description": "Plugin -> declared unit of work (feature) -> "
            "{count, seconds_each}: the successful units done in the period."
        }
    )
    total_seconds_saved = fields.Float()
    hours_saved = fields.Float()
    hourly_rate = fields.Float()
    value = fields.Float()
    subscription_price = fields.Float()
    roi_ratio = fields.Float(allow_none=True)
    by_integration = fields.Dict(
        metadata={"description": "Plugin -> {count, seconds_saved, value}."}
    )


def _when(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def _run_counts(org_id: int) -> dict[str, dict[str, int]]:
    stmt = (
        select(Run.plugin, Run.state, func.count())
        .where(Run.org_id == org_id, Run.state.in_(("queued", "running", "waiting", "failed")))
        .group_by(Run.plugin, Run.state)
    )
    counts: dict[str, dict[str, int]] = {}
    for plugin, state, count in db.session.execute(stmt):
        counts.setdefault(plugin, {})[state] = count
    return counts


def _status_of(provider: Provider, row: Integration | None, **extra: Any) -> dict[str, Any]:
    oauth = provider.oauth2 is not None
    return {
        "plugin": provider.name,
        "title": provider.title,
        "enabled": bool(row and row.enabled),
        "status": row.status if row else "disabled",
        "connected": bool(row and tokens.is_connected(row)) if oauth else None,
        "external_account_id": row.external_account_id if row else None,
        "token_expires_at": _when(row.token_expires_at if row else None),
        "last_error": row.last_error if row else None,
        "last_error_at": _when(row.last_error_at if row else None),
        "last_success_at": _when(row.last_success_at if row else None),
        "consecutive_errors": row.consecutive_errors if row else 0,
        "disabled_reason": row.disabled_reason if row else None,
        **extra,
    }


@bp.get("/integrations/status")
@endpoint("Every integration's standing: connection, health, errors, runs", response=StatusSchema)
def status() -> dict[str, Any]:
    org_id = caller().org.id
    rows = {
        r.plugin: r
        for r in db.session.scalars(select(Integration).where(Integration.org_id == org_id))
    }
    checks = health.latest(db.session, [row.id for row in rows.values()])
    runs = _run_counts(org_id)
    empty = {"queued": 0, "running": 0, "waiting": 0, "failed": 0}
    found = []
    for name, provider in sorted(get_plugins().providers.items()):
        row = rows.get(name)
        check = checks.get(row.id) if row else None
        found.append(
            _status_of(
                provider,
                row,
                health=health.render(check),
                runs={**empty, **runs.get(name, {})},
            )
        )
    return {"integrations": found}


def flush_usage() -> None:
    """Move usage still pending in Redis to the database, so reports are current."""
    session = Session(bind=db.engine, expire_on_commit=False)
    try:
        usage.drain(session, get_redis())
    finally:
        session.close()
    db.session.commit()  # a new snapshot (SQLite): the request's reads see what was moved


@bp.get("/integrations/analytics")
@endpoint("Usage per integration over a period", query=PeriodQuery, response=AnalyticsSchema)
def analytics_report(query: dict[str, Any]) -> dict[str, Any]:
    flush_usage()
    return analytics.report(db.session, caller().org, query["period"])


@bp.get("/integrations/roi")
@endpoint("Time and money the integrations saved over a period", query=RoiQuery, response=RoiSchema)
def roi_report(query: dict[str, Any]) -> dict[str, Any]:
    flush_usage()
    providers = get_plugins().providers
    return roi.report(db.session, caller().org.id, query["period"], current_app.config, providers)


def open_metrics_refused(config: Mapping[str, Any]) -> bool:
    """Whether `/metrics` without HUB_METRICS_TOKEN is refused: when `hub serve` binds an
    address other machines reach (HUB_SERVE_HOST is what it bound; unset: not `hub serve`)."""
    if config.get("HUB_METRICS_TOKEN"):
        return False
    host = str(config.get("HUB_SERVE_HOST") or "127.0.0.1").strip("[]")
    if host == "localhost":
        return False
    try:
        return not ipaddress.ip_address(host).is_loopback
    except ValueError:  # a host name: it may resolve to anything
        return True


@metrics_bp.get("/metrics")
def prometheus() -> Response:
    token = current_app.config.get("HUB_METRICS_TOKEN")
    if open_metrics_refused(current_app.config):
        raise Forbidden(
            "/metrics is not served without a token on an address other machines reach: "
            "set HUB_METRICS_TOKEN and send it as `Authorization: Bearer <token>`."
        )
    if token:
        sent = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        if not hmac.compare_digest(sent.encode(), str(token).encode()):
            raise Unauthorized("Send the metrics token as `Authorization: Bearer <token>`.")
    body = metrics.render(db.session, get_redis(), get_plugins().providers)
    return Response(body, mimetype="text/plain; version=0.0.4; charset=utf-8")
