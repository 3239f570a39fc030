"""Return on investment: the manual work the integrations did, valued at an hourly rate.

Each successful provider call counts as one piece of work by its feature's name: a name
with ``email`` or ``mail`` is an email (1 minute saved), with ``file``, ``upload`` or
``folder`` a file (2 minutes), with ``notif``, ``message``, ``alert`` or ``digest`` a
notification (30 seconds); other calls count for nothing. Plugins name features
``<kind>.<what>`` (``file.upload``, ``notification.deliverable_due``) to be counted.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import func, select

from hub.core.analytics import PERIODS, window
from hub.core.db import AnySession
from hub.core.usage import UsageRecord

# (kind, seconds saved each, words in a feature name that mean it), checked in this order
KINDS = (
    ("emails", 60, ("email", "mail")),
    ("files", 120, ("file", "upload", "folder")),
    ("notifications", 30, ("notif", "message", "alert", "digest")),
)
MONTH_DAYS = 30


def kind_of(feature: str) -> str | None:
    name = feature.lower()
    for kind, _, words in KINDS:
        if any(word in name for word in words):
            return kind
    return None


def _counts(session: AnySession, org_id: int, period: str) -> dict[str, dict[str, int]]:
    """Successful calls per plugin and kind of work."""
    since, _ = window(period)
    stmt = (
        select(UsageRecord.plugin, UsageRecord.feature, func.count())
        .where(UsageRecord.org_id == org_id, UsageRecord.created_at >= since, UsageRecord.ok)
        .group_by(UsageRecord.plugin, UsageRecord.feature)
    )
    counts: dict[str, dict[str, int]] = {}
    for plugin, feature, count in session.execute(stmt):
        kind = kind_of(feature)
        if kind is not None:
            per_plugin = counts.setdefault(plugin, {k: 0 for k, _, _ in KINDS})
            per_plugin[kind] += count
    return counts


def report(
    session: AnySession, org_id: int, period: str, settings: Mapping[str, Any]
) -> dict[str, Any]:
    """Time saved, its value at ``HUB_ROI_HOURLY_RATE``, and the ratio to the subscription."""
    since, until = window(period)
    counts = _counts(session, org_id, period)
    seconds_each = {kind: seconds for kind, seconds, _ in KINDS}
    totals = {kind: sum(c[kind] for c in counts.values()) for kind in seconds_each}
    seconds = sum(totals[kind] * seconds_each[kind] for kind in totals)
    hours = seconds / 3600
    rate = float(settings["HUB_ROI_HOURLY_RATE"])
    price = float(settings["HUB_ROI_SUBSCRIPTION_PRICE"]) * PERIODS[period].days / MONTH_DAYS
    value = round(hours * rate, 2)
    return {
        "period": period,
        "since": since.isoformat(),
        "until": until.isoformat(),
        "time_saved": {
            kind: {"count": totals[kind], "seconds_each": seconds_each[kind]} for kind in totals
        },
        "total_seconds_saved": seconds,
        "hours_saved": round(hours, 2),
        "hourly_rate": rate,
        "value": value,
        "subscription_price": round(price, 2),
        "roi_ratio": round(value / price, 2) if price else None,
        "by_integration": counts,
    }
