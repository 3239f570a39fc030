"""What a provider reports after sending, recorded on the email row and announced as the
hub's events; a hard bounce or a complaint puts the address on the suppression list."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import select

from hub import PluginContext
from mycelium_smtp import suppressions
from mycelium_smtp.inbound import Report
from mycelium_smtp.models import Email

KEEP = 20  # reports kept on one row
EVENT_TYPES = {
    "email.delivered": "The provider delivered an email to a recipient's server.",
    "email.bounced": "A recipient's server refused an email (bounce: hard or soft).",
    "email.complained": "A recipient marked an email as spam.",
    "email.opened": "A recipient opened an email (where the provider tracks opens).",
}


def apply(ctx: PluginContext, reports: Sequence[Report]) -> int:
    """Record each report on its email (found by the id the hub gave the provider) and
    announce it; how many were new. A report repeated by the provider counts once."""
    ids = {r.email_id for r in reports if r.email_id is not None}
    rows = (
        {
            row.id: row
            for row in ctx.db.scalars(
                select(Email).where(Email.org_id == ctx.org.id, Email.id.in_(ids))
            )
        }
        if ids
        else {}
    )
    new = 0
    for report in reports:
        row = rows.get(report.email_id) if report.email_id is not None else None
        if _record(ctx, row, report):
            new += 1
    return new


def _record(ctx: PluginContext, row: Email | None, report: Report) -> bool:
    if not report.type:  # only a suppression the provider made (Postmark's subscription change)
        if not (report.suppress and report.address):
            return False
        suppressions.suppress(ctx.db, ctx.org.id, [report.address], report.suppress, report.detail)
        return True
    entry = {
        "type": report.type.removeprefix("email."),
        "address": report.address,
        "at": datetime.fromtimestamp(report.at, UTC).isoformat() if report.at else None,
        "bounce": report.bounce,
        "detail": report.detail,
    }
    if row is not None:
        seen = list(row.delivery_events or [])
        if entry in seen:
            return False
        row.delivery_events = [*seen, entry][-KEEP:]
        row.delivery = entry["type"]
    if report.type == "email.complained" or report.bounce == "hard":
        reason = "complaint" if report.type == "email.complained" else "hard_bounce"
        if report.address:
            suppressions.suppress(ctx.db, ctx.org.id, [report.address], reason, report.detail)
    ctx.emit(report.type, {"email_id": row.id if row else None, **entry})
    return True
