"""Times in messages: Slack's ``<!date>`` (each reader's own zone) with an org-zone fallback."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo


def parse_time(value: object) -> datetime | None:
    """An ISO 8601 time as the API renders it (None when absent or unreadable)."""
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def org_time(moment: datetime, zone: ZoneInfo) -> str:
    """``Tue 3 Dec 2024, 17:00 GMT`` in the organization's time zone."""
    local = moment.astimezone(zone)
    return f"{local:%a} {local.day} {local:%b %Y, %H:%M} {local.tzname()}"


def slack_date(moment: datetime, zone: ZoneInfo) -> str:
    """Shown in each reader's time zone by Slack; the org's rendering where Slack cannot."""
    epoch = int(moment.timestamp())
    return f"<!date^{epoch}^{{date_short_pretty}} at {{time}}|{org_time(moment, zone)}>"


def duration(span: timedelta) -> str:
    """``3 days 4 hours``, ``2 hours 5 minutes``, ``45 minutes``: the two largest units."""
    minutes = int(abs(span).total_seconds() // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    parts = [(days, "day"), (hours, "hour"), (minutes, "minute")]
    named = [f"{n} {unit}{'s' if n != 1 else ''}" for n, unit in parts if n]
    return " ".join(named[:2]) if named else "less than a minute"
