"""What the console draws from the analytics report: calls per day, latency percentiles,
and each integration's last 24 hours, hour by hour. Aggregated in the database: per-hour
groups (at most 24 x 30 rows a plugin) and one ordered single-row query per percentile."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Integer, case, cast, func, select

from hub.core import clock
from hub.core.connections.health import HealthCheck
from hub.core.connections.usage import UsageRecord
from hub.core.db import AnySession

_OK = cast(case((UsageRecord.ok, 1), else_=0), Integer)
_CHECK_OK = cast(case((HealthCheck.ok, 1), else_=0), Integer)
PERCENTILES = (50, 95)


def by_day(
    session: AnySession, org_id: int, since: datetime, zone: ZoneInfo
) -> dict[str, list[dict[str, Any]]]:
    """Per plugin, each local day with calls: ``{"date", "total", "ok"}``, oldest first."""
    stmt = (
        select(UsageRecord.plugin, UsageRecord.hour, func.count(), func.sum(_OK))
        .where(UsageRecord.org_id == org_id, UsageRecord.created_at >= since)
        .group_by(UsageRecord.plugin, UsageRecord.hour)
    )
    days: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(lambda: [0, 0]))
    for plugin, hour, count, ok in session.execute(stmt):
        day = datetime.fromtimestamp(hour * 3600, UTC).astimezone(zone).date().isoformat()
        days[plugin][day][0] += count
        days[plugin][day][1] += int(ok or 0)
    return {
        plugin: [{"date": day, "total": t, "ok": ok} for day, (t, ok) in sorted(found.items())]
        for plugin, found in days.items()
    }


def latency(
    session: AnySession, org_id: int, since: datetime, counts: dict[str, int]
) -> dict[str, dict[str, float | None]]:
    """Per plugin with calls, the nearest-rank p50 and p95 of their durations (ms)."""
    found: dict[str, dict[str, float | None]] = {}
    for plugin, count in counts.items():
        found[plugin] = {}
        for percentile in PERCENTILES:
            rank = max(0, -(-percentile * count // 100) - 1)  # nearest rank, 0-based
            stmt = (
                select(UsageRecord.duration_ms)
                .where(
                    UsageRecord.org_id == org_id,
                    UsageRecord.plugin == plugin,
                    UsageRecord.created_at >= since,
                )
                .order_by(UsageRecord.duration_ms)
                .offset(rank)
                .limit(1)
            )
            value = session.scalar(stmt) if count else None
            found[plugin][f"p{percentile}_response_ms"] = (
                round(value, 3) if value is not None else None
            )
    return found


def last_24_hours(session: AnySession, org_id: int) -> dict[str, list[dict[str, Any]]]:
    """Per plugin, the last 24 hours (oldest first): calls, failed calls, health checks,
    failed checks, and a state: ``ok``, ``degraded`` (some failed), ``down`` (all failed)
    or ``idle`` (nothing happened)."""
    now = clock.now()
    first = int(now.timestamp() // 3600) - 23
    since = datetime.fromtimestamp(first * 3600, UTC)
    hours: dict[str, dict[int, list[int]]] = defaultdict(lambda: defaultdict(lambda: [0] * 4))
    usage = (
        select(UsageRecord.plugin, UsageRecord.hour, func.count(), func.sum(_OK))
        .where(UsageRecord.org_id == org_id, UsageRecord.created_at >= since)
        .group_by(UsageRecord.plugin, UsageRecord.hour)
    )
    for plugin, hour, count, ok in session.execute(usage):
        hours[plugin][hour][0:2] = [count, count - int(ok or 0)]
    for plugin, checked_at, ok in session.execute(
        select(HealthCheck.plugin, HealthCheck.checked_at, HealthCheck.ok).where(
            HealthCheck.org_id == org_id, HealthCheck.checked_at >= since
        )
    ):  # at most 96 checks a day per integration
        moment = checked_at if checked_at.tzinfo else checked_at.replace(tzinfo=UTC)
        bucket = hours[plugin][int(moment.timestamp() // 3600)]
        bucket[2] += 1
        bucket[3] += 0 if ok else 1
    return {plugin: _series(found, first) for plugin, found in hours.items()}


def _series(found: dict[int, list[int]], first: int) -> list[dict[str, Any]]:
    series = []
    for hour in range(first, first + 24):
        calls, failed, checks, bad = found.get(hour, [0, 0, 0, 0])
        start = datetime.fromtimestamp(hour * 3600, UTC)
        series.append(
            {
                "hour": start.isoformat(),
                "calls": calls,
                "failed_calls": failed,
                "checks": checks,
                "failed_checks": bad,
                "state": _state(calls + checks, failed + bad),
            }
        )
    return series


def _state(total: int, failed: int) -> str:
    if not total:
        return "idle"
    if not failed:
        return "ok"
    return "down" if failed == total else "degraded"


def last_24_hours_empty() -> list[dict[str, Any]]:
    """The last 24 hours of an integration with no calls and no checks: all idle."""
    return _series({}, int(clock.now().timestamp() // 3600) - 23)
