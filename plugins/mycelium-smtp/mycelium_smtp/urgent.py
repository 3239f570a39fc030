"""Urgent and high-priority emails go out as soon as the transaction that queued them
commits: one `send_now` job per organization (the minute queue run sends them anyway if
the job is lost)."""

from __future__ import annotations

import logging

import hub
from hub import PluginContext

log = logging.getLogger(__name__)
SEND_NOW = "mycelium_smtp.send_now"


class _SendNow:
    """The urgent rows one transaction queued, one job per organization once it commits."""

    def __init__(self) -> None:
        self.rows: dict[int, list[int]] = {}

    def __call__(self) -> None:
        for org_id, ids in self.rows.items():
            try:
                hub.enqueue("mycelium_smtp.jobs.send_now", org_id, ids)
            except Exception as exc:  # the minute run sends them anyway
                log.warning("urgent email(s) %s wait for the next queue run: %s", ids, exc)


def send_after_commit(ctx: PluginContext, email_id: int) -> None:
    """Send this row as soon as the transaction that queued it commits."""
    pending = hub.after_commit(ctx.db, _SendNow(), key=SEND_NOW)
    pending.rows.setdefault(ctx.org.id, []).append(email_id)
