"""Usage analytics and ROI per organization, from usage records and health checks.

Everything is aggregated in the database (GROUP BY), so a month of heavy use costs a few
small queries, not a scan in Python. Hours are bucketed in the organization's time zone.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Integer, case, cast, func, select

from hub.core import analytics_series, clock
from hub.core.connections.health import HealthCheck
from hub.core.connections.usage import UsageRecord
from hub.core.db import AnySession
from hub.core.models import Integration, Organization

PERIODS = {"daily": timedelta(days=1), "weekly": timedelta(days=7), "monthly": timedelta(days=30)}
_OK = cast(case((UsageRecord.ok, 1), else_=0), Integer)


def window(period: str) -> tuple[datetime, datetime]:
    until = clock.now()
    return until - PERIODS[period], until


def _usage(session: AnySession, org_id: int, since: datetime, *columns: Any) -> list[Any]:
    stmt = (
        select(UsageRecord.plugin, *columns, func.count(), func.sum(_OK))
        .where(UsageRecord.org_id == org_id, UsageRecord.created_at >= since)
        .group_by(UsageRecord.plugin, *columns)
    )
    return list(session.execute(stmt))


def _totals(session: AnySession, org_id: int, since: datetime) -> dict[str, dict[str, Any]]:
    stmt = (
        select(
            UsageRecord.plugin,
            func.count(),
            func.sum(_OK),
            func.avg(UsageRecord.duration_ms),
            func.sum(UsageRecord.bytes),
        )
        .where(UsageRecord.org_id == org_id, UsageRecord.created_at >= since)
        .group_by(UsageRecord.plugin)
    )
    return {
        plugin: {
            "total": total,
            "ok": int(ok or 0),
            "avg_ms": float(avg or 0),
            "bytes": int(size or 0),
        }
        for plugin, total, ok, avg, size in session.execute(stmt)
    }


def _uptime(session: AnySession, org_id: int, since: datetime) -> dict[str, float]:
    ok = cast(case((HealthCheck.ok, 1), else_=0), Integer)
    stmt = (
        select(HealthCheck.plugin, func.count(), func.sum(ok))
        .where(HealthCheck.org_id == org_id, HealthCheck.checked_at >= since)
        .group_by(HealthCheck.plugin)
    )
    return {
        plugin: round(100.0 * int(good or 0) / count, 2)
        for plugin, count, good in session.execute(stmt)
    }


def _by_hour(
    session: AnySession, org_id: int, since: datetime, zone: ZoneInfo
) -> dict[str, list[int]]:
    hours: dict[str, list[int]] = defaultdict(lambda: [0] * 24)
    for plugin, hour, count, _ in _usage(session, org_id, since, UsageRecord.hour):
        local = datetime.fromtimestamp(hour * 3600, UTC).astimezone(zone)
        hours[plugin][local.hour] += count
    return hours


def _breakdowns(session: AnySession, org_id: int, since: datetime) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = defaultdict(lambda: {"by_feature": {}, "by_status": {}})
    for plugin, feature, count, _ in _usage(session, org_id, since, UsageRecord.feature):
        found[plugin]["by_feature"][feature] = count
    for plugin, status, count, _ in _usage(session, org_id, since, UsageRecord.status):
        found[plugin]["by_status"][str(status) if status else "no_response"] = count
    return found


def _metrics(
    totals: dict[str, Any] | None, uptime: float | None, features: dict[str, int]
) -> dict[str, Any]:
    totals = totals or {"total": 0, "ok": 0, "avg_ms": 0.0, "bytes": 0}
    failed = totals["total"] - totals["ok"]
    return {
        "total_requests": totals["total"],
        "successful_requests": totals["ok"],
        "failed_requests": failed,
        "average_response_ms": round(totals["avg_ms"], 3),
        "bytes_transferred": totals["bytes"],
        "error_rate": round(failed / totals["total"], 4) if totals["total"] else 0.0,
        "uptime": uptime,
        "features_used": sorted(features),
    }


def _summary(rows: list[Integration], reports: list[dict[str, Any]]) -> dict[str, Any]:
    total = sum(r["metrics"]["total_requests"] for r in reports)
    ok = sum(r["metrics"]["successful_requests"] for r in reports)
    weighted = sum(
        r["metrics"]["average_response_ms"] * r["metrics"]["total_requests"] for r in reports
    )
    uptimes = [r["metrics"]["uptime"] for r in reports if r["metrics"]["uptime"] is not None]
    return {
        "total_integrations": len(reports),
        "active_integrations": sum(1 for row in rows if row.enabled),
        "total_requests": total,
        "successful_requests": ok,
        "failed_requests": total - ok,
        "error_rate": round((total - ok) / total, 4) if total else 0.0,
        "average_response_ms": round(weighted / total, 3) if total else 0.0,
        "bytes_transferred": sum(r["metrics"]["bytes_transferred"] for r in reports),
        "average_uptime": round(sum(uptimes) / len(uptimes), 2) if uptimes else None,
    }


def report(session: AnySession, org: Organization, period: str) -> dict[str, Any]:
    """Per integration: totals, error rate, latency, bytes, uptime, by feature/status/hour."""
    since, until = window(period)
    rows = list(session.scalars(select(Integration).where(Integration.org_id == org.id)))
    totals, uptime = _totals(session, org.id, since), _uptime(session, org.id, since)
    hours, breakdowns = (
        _by_hour(session, org.id, since, ZoneInfo(org.timezone)),
        _breakdowns(session, org.id, since),
    )
    zone = ZoneInfo(org.timezone)
    days = analytics_series.by_day(session, org.id, since, zone)
    counts = {plugin: found["total"] for plugin, found in totals.items()}
    latency = analytics_series.latency(session, org.id, since, counts)
    recent = analytics_series.last_24_hours(session, org.id)
    by_plugin = {row.plugin: row for row in rows}
    reports = []
    for plugin in sorted(set(by_plugin) | set(totals)):
        row = by_plugin.get(plugin)
        parts = breakdowns.get(plugin, {"by_feature": {}, "by_status": {}})
        metrics = _metrics(totals.get(plugin), uptime.get(plugin), parts["by_feature"])
        metrics.update(latency.get(plugin, {"p50_response_ms": None, "p95_response_ms": None}))
        reports.append(
            {
                "plugin": plugin,
                "enabled": bool(row and row.enabled),
                "status": row.status if row else "disabled",
                "metrics": metrics,
                "breakdown": {
                    **parts,
                    "by_hour": hours.get(plugin, [0] * 24),
                    "by_day": days.get(plugin, []),
                },
                "last_24_hours": recent.get(plugin) or analytics_series.last_24_hours_empty(),
            }
        )
    return {
        "period": period,
        "since": since.isoformat(),
        "until": until.isoformat(),
        "timezone": org.timezone,
        "integrations": reports,
        "summary": _summary(rows, reports),
    }
