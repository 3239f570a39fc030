"""Sending an organization's due emails: claimed in chunks, over one reused connection,
within its per-minute rate, each outcome committed as soon as the server answered."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from hub import NeedsReauth, PluginContext, now, report_needs_reauth
from mycelium_smtp import queue, ratelimit, suppressions
from mycelium_smtp.alerts import announce_failure
from mycelium_smtp.catalog import email_type
from mycelium_smtp.compose import sender_of
from mycelium_smtp.config import normalized, transport_of
from mycelium_smtp.messages import Body, Sender, build, to_bytes
from mycelium_smtp.models import Email
from mycelium_smtp.providers import (
    Client,
    KeyRefused,
    Outbound,
    Postmark,
    ProviderFailure,
    client_for,
    operator_key,
)
from mycelium_smtp.transport import (
    EGRESS_SETTINGS,
    Accepted,
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
    # the provider refused the API key: the integration was marked needs_reauth for this
    key_refused: str | None = None


class Mailer:
    """One organization's SMTP session for a run: opened on first use, reopened once if the
    server drops it, and not retried within the run once opening failed."""

    def __init__(self, ctx: PluginContext) -> None:
        self.ctx = ctx
        self.sender = sender_of(ctx)
        self.connection: Connection | None = None
        self.broken: SmtpFailure | None = None
        self.transport = transport_of(ctx.config, ctx.setting)
        self.api = api_client(ctx, self.transport) if self.transport != "smtp" else None
        # the provider refused the API key: nothing more is sent in this run
        self.key_refused: KeyRefused | None = None

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
            accepted, status = self._carry(row, recipients, data)
        except KeyRefused as refused:
            self.key_refused = refused
            outcome = queue.hold(row, refused.message)
            self._used("held", refused.code or 0, started, 0)
            return outcome
        except SmtpFailure as failure:
            outcome = self._failed(row, failure)
            self._used(outcome, failure.code or 0, started, 0)
            return outcome
        refused_for_good = {r: f"{c} {why}" for r, (c, why) in accepted.refused.items() if c >= 500}
        for address, why in refused_for_good.items():  # a refusal at RCPT: a hard bounce
            suppressions.suppress(self.ctx.db, self.ctx.org.id, [address], "refused", why)
        outcome = queue.record_accepted(row, accepted)
        refusals = [code for code, _ in accepted.refused.values()]
        self._used(outcome, status if outcome == "sent" else refusals[0], started, len(data))
        return outcome

    def _carry(self, row: Email, recipients: list[str], data: bytes) -> tuple[Accepted, int]:
        """Hand the message to the SMTP server or the provider's API; who was refused, and
        the status to record (250, or the API's 2xx)."""
        if self.api is None:
            return self._open().send(self.sender.address, recipients, data), SMTP_OK
        if self.broken is not None:  # the key was refused or the API is rate limiting
            raise self.broken
        try:
            accepted, _ = self.api.send(_outbound(row, self.sender, recipients, data))
        except ProviderFailure as failure:
            if failure.rate_limited:
                self.broken = failure
            raise
        return accepted, 202 if self.transport == "sendgrid" else 200

    def send_many(self, rows: list[Email]) -> list[str]:
        """Rows through the provider's batch call (Postmark's), each with its own outcome
        recorded as :meth:`send` records one."""
        assert self.api is not None and isinstance(self.api, Postmark)
        outs: dict[int, Outbound] = {}
        outcomes: dict[int, str] = {}
        for row in rows:
            try:
                outs[row.id] = _outbound(row, self.sender, queue.envelope(row), _bytes(row, self))
            except (ValueError, TypeError, LookupError) as exc:
                unsendable = SmtpFailure(f"Unsendable: {exc}", temporary=False)
                outcomes[row.id] = queue.record_failure(row, unsendable)
        ready = [row for row in rows if row.id in outs]
        started = time.monotonic()
        results = self._batch_results([outs[row.id] for row in ready])
        each = (time.monotonic() - started) / max(1, len(ready))
        for row, result in zip(ready, results, strict=True):
            if isinstance(result, KeyRefused):
                self.key_refused = result
                outcomes[row.id] = queue.hold(row, result.message)
                self._used("held", result.code or 0, 0, duration=each)
            elif isinstance(result, SmtpFailure):
                outcomes[row.id] = self._failed(row, result)
                self._used(outcomes[row.id], result.code or 0, 0, duration=each)
            else:
                outcomes[row.id] = queue.record_accepted(row, result[0])
                size = len(outs[row.id].mime)
                self._used(outcomes[row.id], 200, 0, size, duration=each)
        return [outcomes[row.id] for row in rows]

    def _failed(self, row: Email, failure: SmtpFailure) -> str:
        """Record a failure nobody got the message through. Recipients the provider will
        never send to (Postmark's inactive ones) go on the suppression list, as a refusal
        at RCPT does, and the email goes again to the others."""
        named = {a.lower() for a in getattr(failure, "inactive", ())}
        refused = [rcpt for rcpt in queue.envelope(row) if rcpt.lower() in named]
        if not refused:
            return queue.record_failure(row, failure)
        db, org_id = self.ctx.db, self.ctx.org.id
        suppressions.suppress(db, org_id, refused, "refused", failure.message)
        why = f"{failure.code} inactive recipient at {self.api.title if self.api else 'SMTP'}"
        return queue.drop_recipients(row, dict.fromkeys(refused, why))

    def _batch_results(self, outs: list[Outbound]) -> list[Any]:
        assert isinstance(self.api, Postmark)
        if not outs:
            return []
        try:
            if self.broken is not None:
                raise self.broken
            return self.api.send_many(outs)
        except SmtpFailure as failure:  # the call as a whole: every message shares it
            if getattr(failure, "rate_limited", False):
                self.broken = failure
            return [failure] * len(outs)

    @property
    def batches(self) -> bool:
        return isinstance(self.api, Postmark)

    def _used(
        self, outcome: str, status: int, started: float, size: int = 0, duration: float = -1
    ) -> None:
        duration = duration if duration >= 0 else time.monotonic() - started
        self.ctx.record_usage(
            EMAIL,
            ok=outcome == "sent",
            status=status,
            duration=duration,
            size=size,
            method="SMTP" if self.api is None else "POST",
        )

    def close(self) -> None:
        if self.connection is not None:
            self.connection.close()


def _body(row: Email) -> Body:
    return Body(
        row.subject, row.html, row.text, row.message_id, row.to, row.cc, row.unsubscribe_url
    )


def _bytes(row: Email, mailer: Mailer) -> bytes:
    return to_bytes(build(_body(row), mailer.sender, now()))


def _outbound(row: Email, sender: Sender, recipients: list[str], data: bytes) -> Outbound:
    return Outbound(row.id, _body(row), sender, list(row.bcc), data, recipients)


def api_client(ctx: PluginContext, transport: str) -> Client:
    """The provider API client of the org's config (its key, else the operator's)."""
    key = ctx.secret("api_key") or operator_key(transport, ctx.setting)
    return client_for(transport, ctx.config, key, ctx.setting, ctx.http)


def _recipients(row: Email) -> list[str]:
    try:
        return queue.envelope(row)
    except (ValueError, TypeError, LookupError):  # the send records why no message can be made
        return []


def _listed(found: suppressions.Entries, row: Email) -> dict[str, str]:
    """Recipients of the row put on the suppression list since it was queued."""
    kind = email_type(row.template)
    type_name = None if kind is None or kind.transactional else kind.name
    return suppressions.reasons(found, type_name, _recipients(row))


def send_rows(ctx: PluginContext, mailer: Mailer, rows: list[Email], report: Report) -> None:
    """Send claimed rows one by one; each outcome is committed before the next is tried."""
    due = []
    everyone = [address for row in rows for address in _recipients(row)]
    found = suppressions.entries(ctx.db, ctx.org.id, everyone)  # one query for the chunk
    for row in rows:
        if queue.suppress_listed(row, _listed(found, row)):
            ctx.db.commit()
        else:
            due.append(row)
    if mailer.batches and len(due) > 1:  # one provider call for the chunk, then one commit
        for row, outcome in zip(due, mailer.send_many(due), strict=True):
            _count(ctx, row, outcome, report)
        ctx.db.commit()
        return
    for index, row in enumerate(due):
        if mailer.key_refused is not None:  # the rest go back untouched, to wait as well
            queue.release(ctx.db, due[index:])
            return
        _count(ctx, row, mailer.send(row), report)
        ctx.db.commit()


def _count(ctx: PluginContext, row: Email, outcome: str, report: Report) -> None:
    if outcome == "failed":
        announce_failure(ctx, row)
        report.failed.append(row)
    elif outcome == "sent":
        report.sent += 1
    else:
        report.retrying += 1


def deliver(
    ctx: PluginContext,
    ids: list[int] | None = None,
    chunk: int = CHUNK,
    budget_seconds: float | None = None,
) -> Report:
    """Send the org's due rows (or just `ids`) within its rate limit, one connection for
    all; no new chunk is claimed once `budget_seconds` have passed. A provider refusing
    the API key stops the run: its rows wait (no attempt counted) and the integration
    becomes ``needs_reauth``, as a hook raising ``NeedsReauth`` makes it."""
    per_minute = int(normalized(ctx.config)["rate_limit_per_minute"])
    deadline = time.monotonic() + budget_seconds if budget_seconds else None
    mailer, report = Mailer(ctx), Report()
    try:
        while deadline is None or time.monotonic() < deadline:
            rows = _claim(ctx, per_minute, chunk if ids is None else len(ids), ids)
            if not rows:
                break
            send_rows(ctx, mailer, rows, report)
            if ids is not None or mailer.key_refused is not None:
                break
    finally:
        mailer.close()
    if mailer.key_refused is not None:  # as a hook raising NeedsReauth: the admins are told
        report.key_refused = mailer.key_refused.message
        report_needs_reauth(ctx, NeedsReauth(mailer.key_refused.message))
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
