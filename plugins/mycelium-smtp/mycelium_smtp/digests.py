"""When digests go out: 09:00 in each organization's own time zone.

An hourly job asks every organization whether its local time is in the digest window
(09:00 up to, not including, 09:00 + ``SMTP_DIGEST_CATCH_UP_HOURS``) and whether the kind
has not yet gone out for that *local date*. The last local date is stored per org and
kind, and claimed with a conditional update, so a DST change (a 23- or 25-hour day), two
schedulers, or a job that runs late neither skips a day nor sends one twice.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from hub import PluginContext, now
from mycelium_smtp import directory, preferences, reports
from mycelium_smtp.compose import Outgoing, queue_email
from mycelium_smtp.models import DigestRun
from mycelium_smtp.reports import local_time

DIGEST_HOUR = 9
CATCH_UP_HOURS = 3
KINDS: dict[str, Callable[[datetime], bool]] = {
    "daily_digest": lambda local: True,
    "weekly_digest": lambda local: local.weekday() == 0,  # Monday
    "monthly_report": lambda local: local.day == 1,
}


def due_kinds(
    timezone: str, at: datetime, hour: int = DIGEST_HOUR, catch_up: int = CATCH_UP_HOURS
) -> list[tuple[str, date]]:
    """The digest kinds due at `at` for an org in `timezone`, with their local date."""
    local = local_time(timezone, at)
    if not hour <= local.hour < hour + catch_up:
        return []
    return [(kind, local.date()) for kind, today in KINDS.items() if today(local)]


def claim_slot(db: Any, org_id: int, kind: str, local_date: date) -> bool:
    """Record that `kind` goes out for `local_date`; False if it already went (or is going)."""
    row = db.scalar(select(DigestRun).where(DigestRun.org_id == org_id, DigestRun.kind == kind))
    if row is None:
        try:
            with db.begin_nested():
                db.add(DigestRun(org_id=org_id, kind=kind, last_local_date=local_date))
        except IntegrityError:
            return False
        return True
    result = db.execute(
        update(DigestRun)
        .where(DigestRun.id == row.id, DigestRun.last_local_date < local_date)
        .values(last_local_date=local_date, updated_at=now())
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)


def run_due(ctx: PluginContext, at: datetime | None = None) -> int:
    """Queue every digest due now for this organization; how many emails were queued."""
    at = at or now()
    hour = int(ctx.setting("SMTP_DIGEST_HOUR") or DIGEST_HOUR)
    catch_up = int(ctx.setting("SMTP_DIGEST_CATCH_UP_HOURS") or CATCH_UP_HOURS)
    queued = 0
    for kind, local_date in due_kinds(ctx.org.timezone, at, hour, catch_up):
        if claim_slot(ctx.db, ctx.org.id, kind, local_date):
            queued += queue_kind(ctx, kind, local_date)
    return queued


def queue_kind(ctx: PluginContext, kind: str, local_date: date) -> int:
    """One email of `kind` per opted-in user (skipped when a digest would be empty)."""
    queued = 0
    shared = reports.monthly(ctx, local_date) if kind == "monthly_report" else None
    for person in directory.everyone(ctx.db, ctx.org.id):
        if not preferences.of(ctx.db, ctx.org.id, person)[kind]:
            continue
        variables = shared or reports.variables_for(ctx, kind, person, local_date)
        if variables is None:
            continue
        out = Outgoing(
            template=kind,
            variables={**variables, "recipient_name": person.name},
            to=[person.email],
            priority="low",
            dedupe_key=f"{kind}:{person.id}:{local_date.isoformat()}",
            fail_if_unrenderable=True,
        )
        queue_email(ctx, out)
        queued += 1
    return queued
