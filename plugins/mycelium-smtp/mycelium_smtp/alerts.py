"""Telling the organization's admins that an email failed for good (the `email.failed`
event), wherever the failure is found: composing, sending, or a dead worker's sweep."""

from __future__ import annotations

from hub import PluginContext
from mycelium_smtp.models import Email


def announce_failure(ctx: PluginContext, row: Email) -> None:
    """Tell the admins (through `email.failed`) unless the row was itself such an alert."""
    if row.template == "admin_alert" and row.variables.get("event_type") == "email.failed":
        return  # an alert about a failed email that failed too: no loop
    ctx.emit(
        "email.failed",
        {
            "email_id": row.id,
            "template": row.template,
            "to": list(row.to),
            "subject": row.subject,
            "error": row.last_error,
            "retries": row.retries,
        },
    )
