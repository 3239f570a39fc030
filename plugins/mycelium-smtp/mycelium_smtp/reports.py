"""What digests and the monthly report say: read from the organization's deliverables."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import and_, case, func, select

from hub import PluginContext, now
from mycelium_smtp.directory import Person, table

LIMIT = 50


def zone(timezone: str) -> ZoneInfo:
    """The organization's time zone (UTC if the name is unknown)."""
    try:
        return ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def local_time(timezone: str, at: datetime) -> datetime:
    """`at` on the organization's clock."""
    return at.astimezone(zone(timezone))


def when(value: datetime | str | None, timezone: str) -> str:
    """A moment as people read it in the agency's time zone: `Fri 6 Mar 2026, 17:00 GMT`."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    local = local_time(timezone, value)
    return f"{local:%a} {local.day} {local:%b %Y, %H:%M} {local.tzname()}"


def day(value: date) -> str:
    return f"{value:%a} {value.day} {value:%b %Y}"


def _start(local_date: date, timezone: str) -> datetime:
    """Local midnight of `local_date`, in UTC (zoneinfo resolves DST gaps and folds)."""
    return datetime.combine(local_date, time(0), zone(timezone)).astimezone(UTC)


def _items(ctx: PluginContext, person: Person, *conditions: Any) -> list[dict[str, str]]:
    d, c = table("deliverables"), table("clients")
    stmt = (
        select(d.c.title, d.c.due_at, c.c.name)
        .join(c, c.c.id == d.c.client_id)
        .where(d.c.org_id == ctx.org.id, d.c.assignee_id == person.id, *conditions)
        .order_by(d.c.due_at, d.c.id)
        .limit(LIMIT)
    )
    tz = ctx.org.timezone
    return [
        {"title": r.title, "client_name": r.name, "due": when(r.due_at, tz)}
        for r in ctx.db.execute(stmt)
    ]


def _open() -> Any:
    return table("deliverables").c.status != "completed"


def _between(column: Any, start: datetime, end: datetime) -> Any:
    return and_(column >= start, column < end)


def daily(ctx: PluginContext, person: Person, local_date: date) -> dict[str, Any] | None:
    d, tz = table("deliverables"), ctx.org.timezone
    start, end = _start(local_date, tz), _start(local_date + timedelta(days=1), tz)
    previous = _start(local_date - timedelta(days=1), tz)
    found = {
        "due_today": _items(ctx, person, _open(), _between(d.c.due_at, start, end)),
        "overdue": _items(ctx, person, _open(), d.c.due_at < start),
        "completed": _items(ctx, person, _between(d.c.completed_at, previous, start)),
    }
    return {"date": day(local_date), **found} if any(found.values()) else None


def weekly(ctx: PluginContext, person: Person, monday: date) -> dict[str, Any] | None:
    d, tz = table("deliverables"), ctx.org.timezone
    start, end = _start(monday, tz), _start(monday + timedelta(days=7), tz)
    last_week = _start(monday - timedelta(days=7), tz)
    found = {
        "due_this_week": _items(ctx, person, _open(), _between(d.c.due_at, start, end)),
        "overdue": _items(ctx, person, _open(), d.c.due_at < start),
        "completed": _items(ctx, person, _between(d.c.completed_at, last_week, start)),
    }
    if not any(found.values()):
        return None
    return {"week_start": day(monday), "week_end": day(monday + timedelta(days=6)), **found}


def monthly(ctx: PluginContext, first: date) -> dict[str, Any]:
    """Last month (the one before `first`) across the organization."""
    previous = (first - timedelta(days=1)).replace(day=1)
    start, end = _start(previous, ctx.org.timezone), _start(first, ctx.org.timezone)
    d = table("deliverables")
    scope = d.c.org_id == ctx.org.id
    completed = and_(scope, _between(d.c.completed_at, start, end))
    on_time = and_(completed, d.c.due_at.is_not(None), d.c.completed_at <= d.c.due_at)
    with_due = and_(completed, d.c.due_at.is_not(None))
    count = _counter(ctx)
    timed = count(with_due)
    return {
        "month": f"{previous:%B %Y}",
        "created_count": count(and_(scope, _between(d.c.created_at, start, end))),
        "completed_count": count(completed),
        "on_time_rate": round(100 * count(on_time) / timed) if timed else 100,
        "overdue_count": count(and_(scope, _open(), d.c.due_at < now())),
        "clients": _by_client(ctx, start, end),
    }


def _counter(ctx: PluginContext) -> Any:
    d = table("deliverables")
    return lambda condition: int(ctx.db.scalar(select(func.count(d.c.id)).where(condition)) or 0)


def _by_client(ctx: PluginContext, start: datetime, end: datetime) -> list[dict[str, Any]]:
    d, c = table("deliverables"), table("clients")
    done = func.sum(case((_between(d.c.completed_at, start, end), 1), else_=0))
    still_open = func.sum(case((_open(), 1), else_=0))
    stmt = (
        select(c.c.name, done.label("completed"), still_open.label("open"))
        .join(d, d.c.client_id == c.c.id)
        .where(c.c.org_id == ctx.org.id)
        .group_by(c.c.id, c.c.name)
        .order_by(done.desc(), c.c.name)
        .limit(20)
    )
    rows = ctx.db.execute(stmt)
    return [
        {"name": r.name, "completed": int(r.completed or 0), "open": int(r.open or 0)} for r in rows
    ]


def variables_for(
    ctx: PluginContext, kind: str, person: Person, local_date: date
) -> dict[str, Any] | None:
    """A digest's variables for `person`, or None when it would say nothing."""
    if kind == "daily_digest":
        return daily(ctx, person, local_date)
    if kind == "weekly_digest":
        return weekly(ctx, person, local_date)
    return monthly(ctx, local_date)
