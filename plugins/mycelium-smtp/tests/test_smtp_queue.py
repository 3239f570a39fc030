"""The queue against a real SMTP server: delivery, retries, failures; nothing lost or doubled."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from mycelium_smtp import delivery, queue
from mycelium_smtp.compose import Outgoing, queue_email
from mycelium_smtp.models import Email
from smtp_helpers import SmtpServer, smtp_config, start_server
from sqlalchemy import select, text

import hub
from hub.testing import FrozenClock


def queue_one(ctx: Any, **changes: Any) -> Email:
    values: dict[str, Any] = {
        "template": "deliverable_due",
        "variables": {"deliverable_title": "Logo", "client_name": "<script>{{7*7}}</script>"},
        "to": ["Zoë Designer <zoe@acme.example>"],
        **changes,
    }
    row = queue_email(ctx, Outgoing(**values))
    ctx.db.commit()
    return row


def status(ctx: Any, row: Email) -> Email:
    ctx.db.refresh(row)
    return row


def events(ctx: Any, type_: str) -> list[dict[str, Any]]:
    """Payloads of the org's events of `type_` (the outbox, read as any plugin could)."""
    stmt = text("SELECT payload FROM events WHERE type = :t AND org_id = :o ORDER BY seq")
    rows = ctx.db.execute(stmt, {"t": type_, "o": ctx.org.id}).scalars()
    return [json.loads(p) if isinstance(p, str) else p for p in rows]


def test_queued_email_is_delivered_branded_and_escaped(
    smtp_ctx: Any, smtp_server: SmtpServer, hub_clock: FrozenClock
) -> None:
    ctx = smtp_ctx()
    row = queue_one(ctx)
    assert row.status == "pending"
    report = delivery.deliver(ctx)
    assert (report.sent, report.retrying, report.failed) == (1, 0, [])
    row = status(ctx, row)
    assert row.status == "sent" and row.sent_at == hub_clock.now()
    [received] = smtp_server.mailbox.received
    assert received.mail_from == "studio@acme.example"
    assert received.rcpt_tos == ["zoe@acme.example"]
    message = received.message
    assert message["Message-ID"] == row.message_id
    assert message["From"] == "Acmé Stüdio <studio@acme.example>"
    assert message["To"] == "Zoë Designer <zoe@acme.example>"
    assert message["Subject"] == "Due soon: Logo (<script>{{7*7}}</script>)"
    assert message["List-Unsubscribe"].startswith("<https://hub.acme.example/api/integrations/")
    plain, html = message.iter_parts()
    assert "<script>{{7*7}}</script>" in plain.get_content()
    html_text = html.get_content()
    assert "&lt;script&gt;{{7*7}}&lt;/script&gt;" in html_text and "<script>" not in html_text
    assert "49" not in html_text
    assert "Acme Studio" in html_text  # the org's name in the branded header


def test_bcc_recipients_get_the_email_but_never_appear_in_it(
    smtp_ctx: Any, smtp_server: SmtpServer
) -> None:
    ctx = smtp_ctx()
    queue_one(ctx, cc=["boss@acme.example"], bcc=["Secret Keeper <secret@acme.example>"])
    assert delivery.deliver(ctx).sent == 1
    [received] = smtp_server.mailbox.received
    assert sorted(received.rcpt_tos) == [
        "boss@acme.example",
        "secret@acme.example",
        "zoe@acme.example",
    ]
    assert b"secret" not in received.data.lower()  # no header, no body names them
    assert received.message["Bcc"] is None and received.message["Cc"] == "boss@acme.example"


def test_batch_goes_over_one_connection(smtp_ctx: Any, smtp_server: SmtpServer) -> None:
    ctx = smtp_ctx()
    for n in range(7):
        queue_one(ctx, to=[f"person{n}@acme.example"])
    report = delivery.deliver(ctx, chunk=3)  # three claims, one SMTP session
    assert report.sent == 7
    assert len(smtp_server.mailbox.received) == 7
    assert smtp_server.mailbox.connections == 1


def test_4xx_retries_after_two_minutes_then_sends_once(
    smtp_ctx: Any, smtp_server: SmtpServer, hub_clock: FrozenClock
) -> None:
    ctx = smtp_ctx()
    row = queue_one(ctx)
    smtp_server.mailbox.data_replies = ["451 4.3.0 Try again later"]
    delivery.deliver(ctx)
    row = status(ctx, row)
    assert (row.status, row.retries) == ("pending", 1)
    assert "451" in (row.last_error or "")
    assert row.next_attempt_at == hub_clock.now() + timedelta(minutes=2)
    assert delivery.deliver(ctx).sent == 0  # not due yet
    hub_clock.advance(minutes=2)
    assert delivery.deliver(ctx).sent == 1
    assert status(ctx, row).status == "sent"
    assert len(smtp_server.mailbox.received) == 1


def test_5xx_fails_at_once_and_tells_the_admins(smtp_ctx: Any, smtp_server: SmtpServer) -> None:
    ctx = smtp_ctx()
    row = queue_one(ctx)
    smtp_server.mailbox.data_replies = ["554 5.7.1 Message rejected as spam"]
    report = delivery.deliver(ctx)
    assert [r.id for r in report.failed] == [row.id]
    row = status(ctx, row)
    assert (row.status, row.retries) == ("failed", 0)
    assert "554 5.7.1" in (row.last_error or "")
    [payload] = events(ctx, "email.failed")
    assert payload["email_id"] == row.id and "554" in payload["error"]
    assert smtp_server.mailbox.received == []


def test_retries_run_out_then_fail_for_good(
    smtp_ctx: Any, smtp_server: SmtpServer, hub_clock: FrozenClock
) -> None:
    ctx = smtp_ctx()
    row = queue_one(ctx, max_retries=2)
    smtp_server.mailbox.data_replies = ["421 4.7.0 Busy"] * 3
    waits = []
    for _ in range(3):
        delivery.deliver(ctx)
        row = status(ctx, row)
        if row.status == "pending":
            waits.append(row.next_attempt_at - hub_clock.now())
            hub_clock.set(row.next_attempt_at)
    assert waits == [timedelta(minutes=2), timedelta(minutes=4)]
    assert (row.status, row.retries) == ("failed", 2)
    assert len(events(ctx, "email.failed")) == 1
    assert smtp_server.mailbox.received == []


def test_the_default_schedule_waits_2_4_8_minutes_then_fails_for_good(
    smtp_ctx: Any, smtp_server: SmtpServer, hub_clock: FrozenClock
) -> None:
    ctx = smtp_ctx()
    row = queue_one(ctx)  # no max_retries: SMTP_MAX_RETRIES' default, 3
    smtp_server.mailbox.data_replies = ["421 4.7.0 Busy"] * 4
    waits = []
    for _ in range(4):
        delivery.deliver(ctx)
        row = status(ctx, row)
        if row.status == "pending":
            waits.append(row.next_attempt_at - hub_clock.now())
            hub_clock.set(row.next_attempt_at)
    # 2^n minutes to the end: 2 x n minutes would be 2, 4, 6
    assert waits == [timedelta(minutes=2), timedelta(minutes=4), timedelta(minutes=8)]
    assert (row.status, row.retries, row.max_retries) == ("failed", 3, 3)
    assert len(events(ctx, "email.failed")) == 1


def test_server_down_then_back(
    enable_plugin: Any,
    plugin_context: Any,
    smtp_server: SmtpServer,
    hub_clock: FrozenClock,
    certificates: Any,
) -> None:
    enable_plugin("smtp", smtp_config(smtp_server.port))
    ctx = plugin_context("smtp")
    rows = [queue_one(ctx, to=[f"p{n}@acme.example"]) for n in range(3)]
    smtp_server.stop()
    report = delivery.deliver(ctx)
    assert (report.sent, report.retrying) == (0, 3)
    assert all("Cannot connect" in (status(ctx, r).last_error or "") for r in rows)
    back = start_server(certificates)
    ctx.db.commit()  # end this session's transaction: SQLite has one writer
    try:
        enable_plugin("smtp", smtp_config(back.port))
        ctx.db.expire_all()  # the test's session keeps rows across commits
        hub_clock.advance(minutes=2)
        assert delivery.deliver(plugin_context("smtp")).sent == 3
    finally:
        back.stop()
    got = sorted(r.rcpt_tos[0] for r in back.mailbox.received)
    assert got == ["p0@acme.example", "p1@acme.example", "p2@acme.example"]


def test_bad_password_retries_without_losing_mail(
    enable_plugin: Any,
    plugin_context: Any,
    smtp_server: SmtpServer,
    hub_clock: FrozenClock,
    app: Any,
) -> None:
    app.config["SMTP_VERIFY_ON_ENABLE"] = "false"  # let a wrong password be stored
    enable_plugin("smtp", smtp_config(smtp_server.port, password="wrong"))
    ctx = plugin_context("smtp")
    row = queue_one(ctx)
    delivery.deliver(ctx)
    row = status(ctx, row)
    assert (row.status, row.retries) == ("pending", 1)
    assert "535" in (row.last_error or "")
    ctx.db.commit()
    enable_plugin("smtp", smtp_config(smtp_server.port))  # the admin fixes the password
    ctx.db.expire_all()  # the test's session keeps rows across commits
    ctx = plugin_context("smtp")
    hub_clock.advance(minutes=2)
    assert delivery.deliver(ctx).sent == 1
    assert len(smtp_server.mailbox.received) == 1


def test_dropped_connection_mid_batch_resends_only_that_email(
    smtp_ctx: Any, smtp_server: SmtpServer, hub_clock: FrozenClock
) -> None:
    ctx = smtp_ctx()
    rows = [queue_one(ctx, to=[f"p{n}@acme.example"]) for n in range(3)]
    smtp_server.mailbox.drop_data = 1  # the first message's DATA loses the connection
    report = delivery.deliver(ctx)
    assert (report.sent, report.retrying) == (2, 1)
    assert [status(ctx, r).status for r in rows] == ["pending", "sent", "sent"]
    assert smtp_server.mailbox.connections == 2  # reconnected once for the rest
    hub_clock.advance(minutes=2)
    assert delivery.deliver(ctx).sent == 1
    got = sorted(r.rcpt_tos[0] for r in smtp_server.mailbox.received)
    assert got == ["p0@acme.example", "p1@acme.example", "p2@acme.example"]


def test_recipient_refusals(smtp_ctx: Any, smtp_server: SmtpServer, hub_clock: FrozenClock) -> None:
    """5xx for one recipient is permanent for them; 4xx is retried for them alone."""
    ctx = smtp_ctx()
    smtp_server.mailbox.rcpt_replies = {
        "gone@client.example": "550 5.1.1 No such user",
        "full@client.example": "452 4.2.2 Mailbox full",
    }
    row = queue_one(
        ctx, to=["ok@client.example", "gone@client.example"], cc=["full@client.example"]
    )
    delivery.deliver(ctx)
    row = status(ctx, row)
    assert row.status == "pending" and row.pending_rcpts == ["full@client.example"]
    assert row.refused["gone@client.example"].startswith("550")
    smtp_server.mailbox.rcpt_replies = {}
    hub_clock.advance(minutes=2)
    delivery.deliver(ctx)
    row = status(ctx, row)
    assert row.status == "sent" and row.pending_rcpts is None
    assert [r.rcpt_tos for r in smtp_server.mailbox.received] == [
        ["ok@client.example"],
        ["full@client.example"],
    ]
    # the same message both times
    ids = {r.message["Message-ID"] for r in smtp_server.mailbox.received}
    assert ids == {row.message_id}


def test_every_recipient_refused_permanently_fails(smtp_ctx: Any, smtp_server: SmtpServer) -> None:
    ctx = smtp_ctx()
    smtp_server.mailbox.rcpt_replies = {"gone@client.example": "550 5.1.1 No such user"}
    row = queue_one(ctx, to=["gone@client.example"])
    delivery.deliver(ctx)
    assert status(ctx, row).status == "failed"
    assert len(events(ctx, "email.failed")) == 1


def test_rate_limit_per_minute(
    smtp_ctx: Any, smtp_server: SmtpServer, hub_clock: FrozenClock
) -> None:
    ctx = smtp_ctx(rate_limit_per_minute=2)
    for n in range(5):
        queue_one(ctx, to=[f"p{n}@acme.example"])
    assert delivery.deliver(ctx).sent == 2
    assert delivery.deliver(ctx).sent == 0  # this minute is used up
    hub_clock.advance(minutes=1)
    assert delivery.deliver(ctx).sent == 2
    hub_clock.advance(minutes=1)
    assert delivery.deliver(ctx).sent == 1
    assert len(smtp_server.mailbox.received) == 5


def test_claimed_rows_are_not_claimed_twice(smtp_ctx: Any, hub_clock: FrozenClock) -> None:
    ctx = smtp_ctx()
    rows = [queue_one(ctx, to=[f"p{n}@acme.example"]) for n in range(3)]
    first = queue.claim(ctx.db, ctx.org.id, 2)
    second = queue.claim(ctx.db, ctx.org.id, 10)
    assert {r.id for r in first} | {r.id for r in second} == {r.id for r in rows}
    assert not {r.id for r in first} & {r.id for r in second}
    assert queue.claim(ctx.db, ctx.org.id, 10) == []


def test_worker_death_mid_send_is_swept_back(
    smtp_ctx: Any, smtp_server: SmtpServer, hub_clock: FrozenClock
) -> None:
    ctx = smtp_ctx()
    row = queue_one(ctx)
    [claimed] = queue.claim(ctx.db, ctx.org.id, 10)  # ...and the worker dies here
    assert queue.sweep_expired_leases(ctx.db) == [] and status(ctx, row).status == "sending"
    hub_clock.advance(minutes=11)
    queue.sweep_expired_leases(ctx.db)
    ctx.db.commit()
    row = status(ctx, row)
    assert (row.status, row.retries) == ("pending", 1)
    hub_clock.advance(minutes=2)
    assert delivery.deliver(ctx).sent == 1
    assert claimed.message_id == row.message_id


def test_cancelled_and_scheduled_emails(
    smtp_ctx: Any, smtp_server: SmtpServer, hub_clock: FrozenClock
) -> None:
    ctx = smtp_ctx()
    later = queue_one(ctx, scheduled_for=hub_clock.now() + timedelta(hours=1))
    cancelled = queue_one(ctx)
    cancelled.status = "cancelled"
    ctx.db.commit()
    assert delivery.deliver(ctx).sent == 0
    hub_clock.advance(hours=1)
    assert delivery.deliver(ctx).sent == 1
    assert status(ctx, later).status == "sent" and status(ctx, cancelled).status == "cancelled"
    rows = ctx.db.scalars(select(Email).where(Email.org_id == ctx.org.id)).all()
    assert len(rows) == 2


def test_two_workers_at_once_send_each_email_once(
    app: Any, enable_plugin: Any, org: Any, smtp_server: SmtpServer
) -> None:
    """Two workers deliver the same organization's queue at the same time (each with its
    own session and SMTP connection): every email goes exactly once."""
    import threading

    enable_plugin("smtp", smtp_config(smtp_server.port))
    with app.app_context():
        ctx = hub.context_for("smtp", org.id)
        rows = [queue_one(ctx, to=[f"p{n}@acme.example"]) for n in range(40)]
    reports: list[Any] = []

    def worker() -> None:
        with app.app_context():
            reports.append(delivery.deliver(hub.context_for("smtp", org.id), chunk=4))

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sum(r.sent for r in reports) == 40
    ids = [r.message["Message-ID"] for r in smtp_server.mailbox.received]
    assert len(ids) == 40 and len(set(ids)) == 40
    assert set(ids) == {row.message_id for row in rows}


def test_a_row_no_message_can_be_made_of_fails_alone(
    smtp_ctx: Any, smtp_server: SmtpServer
) -> None:
    ctx = smtp_ctx()
    broken, fine = queue_one(ctx), queue_one(ctx, to=["ok@acme.example"])
    broken.to = ["not an address"]  # as if the row had been edited by hand
    ctx.db.commit()
    report = delivery.deliver(ctx)
    assert (report.sent, [r.id for r in report.failed]) == (1, [broken.id])
    assert "Unsendable" in (status(ctx, broken).last_error or "")
    assert status(ctx, fine).status == "sent"
