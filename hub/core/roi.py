"""Return on investment: the manual work the integrations did, valued at an hourly rate.

Each plugin declares its units of work and what one is worth (``Provider.work``: a chat
``message``, 30 seconds; an email, 1 minute; a file, 2 minutes). Every successful usage
record of a declared feature counts as one unit; anything else (a health check, a token
refresh, a failed attempt) counts for nothing. The core never guesses from names.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import func, select

from hub.core.analytics import PERIODS, window
from hub.core.connections.usage import UsageRecord
from hub.core.db import AnySession
from hub.provider import Provider

MONTH_DAYS = 30


def _units(
    session: AnySession, org_id: int, period: str, worth: Mapping[str, Mapping[str, float]]
) -> dict[str, dict[str, dict[str, Any]]]:
    """Plugin -> feature -> count and seconds each, of the declared units done."""
    since, _ = window(period)
    stmt = (
        select(UsageRecord.plugin, UsageRecord.feature, func.count())
        .where(UsageRecord.org_id == org_id, UsageRecord.created_at >= since, UsageRecord.ok)
        .group_by(UsageRecord.plugin, UsageRecord.feature)
    )
    units: dict[str, dict[str, dict[str, Any]]] = {}
    for plugin, feature, count in session.execute(stmt):
        seconds = worth.get(plugin, {}).get(feature)
        if seconds:
            units.setdefault(plugin, {})[feature] = {"count": count, "seconds_each": seconds}
    return units


def _per_integration(units: dict[str, dict[str, dict[str, Any]]], rate: float) -> dict[str, Any]:
    found = {}
    for plugin, features in units.items():
        seconds = sum(f["count"] * f["seconds_each"] for f in features.values())
        found[plugin] = {
            "count": sum(f["count"] for f in features.values()),
            "seconds_saved": seconds,
            "value": round(seconds / 3600 * rate, 2),
        }
    return found


def report(
    session: AnySession,
    org_id: int,
    period: str,
    settings: Mapping[str, Any],
    providers: Mapping[str, Provider],
) -> dict[str, Any]:
    """Time saved, its value at ``HUB_ROI_HOURLY_RATE``, and the ratio to the subscription."""
    since, until = window(period)
    worth = {name: provider.seconds_saved() for name, provider in providers.items()}
    units = _units(session, org_id, period, worth)
    rate = float(settings["HUB_ROI_HOURLY_RATE"])
    by_integration = _per_integration(units, rate)
    seconds = sum(item["seconds_saved"] for item in by_integration.values())
    hours = seconds / 3600
    price = float(settings["HUB_ROI_SUBSCRIPTION_PRICE"]) * PERIODS[period].days / MONTH_DAYS
    value = round(hours * rate, 2)
    return {
        "period": period,
        "since": since.isoformat(),
        "until": until.isoformat(),
        "time_saved": units,
        "total_seconds_saved": seconds,
        "hours_saved": round(hours, 2),
        "hourly_rate": rate,
        "value": value,
        "subscription_price": round(price, 2),
        "roi_ratio": round(value / price, 2) if price else None,
        "by_integration": by_integration,
    }
