"""Sending an organization's due emails: claimed in chunks, over one reused connection,
within its per-minute rate, each outcome committed as soon as the server answered."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from hub import PluginContext, now
from mycelium_smtp import queue, ratelimit
from mycelium_smtp.alerts import announce_failure
from mycelium_smtp.compose import sender_of
from mycelium_smtp.config import normalized
from mycelium_smtp.messages import Body, build, to_bytes
from mycelium_smtp.models import Email
from mycelium_smtp.transport import (
    EGRESS_SETTINGS,
    Connection,
    Server,
    SmtpFailure,
    guarded_connect,
)

CHUNK = 50
# the unit of work, whatever the transport: an email accepted for its recipients (1 minute
# saved, as seeded); analytics and ROI count it under this feature
EMAIL = "email.send"
SMTP_OK = 250


def server_of(ctx: PluginContext, timeout_setting: str = "SMTP_TIMEOUT") -> Server:
    config = normalized(ctx.config)
    return Server(
        host=config["host"],
        port=int(config["port"]),
        security=config["security"],
        username=config["username"] or "",
        password=ctx.secret("password") or "",
        timeout=float(ctx.setting(timeout_setting) or 15),
        ca_file=ctx.setting("SMTP_CA_FILE") or None,
        ehlo_name=ctx.setting("SMTP_EHLO_HOSTNAME") or None,
    )


def open_connection(ctx: PluginContext, timeout_setting: str = "SMTP_TIMEOUT") -> Connection:
    """Connect, TLS and login with the org's config; SmtpFailure with the server's reason."""
    settings = {name: ctx.setting(name) for name in EGRESS_SETTINGS}
    return Connection(server_of(ctx, timeout_setting), guarded_connect(settings)).open()


@dataclass
class Report:
    sent: int = 0
    retrying: int = 0
    failed: list[Email] = field(default_factory=list)


class Mailer:
    """One organization's SMTP session for a run: opened on first use, reopened once if the
    server drops it, and not retried within the run once opening failed."""

    def __init__(self, ctx: PluginContext) -> None:
        self.ctx = ctx
        self.sender = sender_of(ctx)
        self.connection: Connection | None = None
        self.broken: SmtpFailure | None = None

    def _open(self) -> Connection:
        if self.broken is not None:
            raise self.broken
        if self.connection is None or self.connection.smtp is None:
            try:
                self.connection = open_connection(self.ctx)
            except SmtpFailure as failure:
                self.broken = failure
                raise
        return self.connection

    def send(self, row: Email) -> str:
        """Try one claimed row; its outcome ("sent", "retry" or "failed") is recorded on it,
        and the attempt is a usage record of the unit ``email.send``."""
        try:
            recipients, data = queue.envelope(row), _bytes(row, self)
        except (ValueError, TypeError, LookupError) as exc:  # a row no message can be made of
            return queue.record_failure(row, SmtpFailure(f"Unsendable: {exc}", temporary=False))
        started = time.monotonic()
        try:
            accepted = self._open().send(self.sender.address, recipients, data)
        except SmtpFailure as failure:
            outcome = queue.record_failure(row, failure)
            self._used(outcome, failure.code or 0, started, 0)
            return outcome
        outcome = queue.record_accepted(row, accepted)
        refusals = [code for code, _ in accepted.refused.values()]
        self._used(outcome, SMTP_OK if outcome == "sent" else refusals[0], started, len(data))
        return outcome

    def _used(self, outcome: str, status: int, started: float, size: int) -> None:
        duration = time.monotonic() - started
        self.ctx.record_usage(
            EMAIL, ok=outcome == "sent", status=status, duration=duration, size=size, method="SMTP"
        )

    def close(self) -> None:
        if self.connection is not None:
            self.connection.close()


def _bytes(row: Email, mailer: Mailer) -> bytes:
    body = Body(
        row.subject, row.html, row.text, row.message_id, row.to, row.cc, row.unsubscribe_url
    )
    return to_bytes(build(body, mailer.sender, now()))


def send_rows(ctx: PluginContext, mailer: Mailer, rows: list[Email], report: Report) -> None:
    """Send claimed rows one by one; each outcome is committed before the next is tried."""
    for row in rows:
        outcome = mailer.send(row)
        if outcome == "failed":
            announce_failure(ctx, row)
            report.failed.append(row)
        elif outcome == "sent":
            report.sent += 1
        else:
            report.retrying += 1
        ctx.db.commit()


def deliver(
    ctx: PluginContext,
    ids: list[int] | None = None,
    chunk: int = CHUNK,
    budget_seconds: float | None = None,
) -> Report:
    """Send the org's due rows (or just `ids`) within its rate limit, one connection for
    all; no new chunk is claimed once `budget_seconds` have passed."""
    per_minute = int(normalized(ctx.config)["rate_limit_per_minute"])
    deadline = time.monotonic() + budget_seconds if budget_seconds else None
    mailer, report = Mailer(ctx), Report()
    try:
        while deadline is None or time.monotonic() < deadline:
            rows = _claim(ctx, per_minute, chunk if ids is None else len(ids), ids)
            if not rows:
                break
            send_rows(ctx, mailer, rows, report)
            if ids is not None:
                break
    finally:
        mailer.close()
    ctx.db.commit()  # end the last (read) transaction: SQLite's write lock is held by it
    return report


def _claim(ctx: PluginContext, per_minute: int, wanted: int, ids: list[int] | None) -> list[Email]:
    """Due rows, as many as the rate limit grants this minute (what is unused goes back)."""
    if not queue.has_due(ctx.db, ctx.org.id, ids):
        return []
    reservation = ratelimit.reserve(ctx.redis, ctx.org.id, per_minute, wanted)
    rows = queue.claim(ctx.db, ctx.org.id, reservation.granted, ids) if reservation.granted else []
    ratelimit.refund(ctx.redis, reservation, len(rows))
    return rows
