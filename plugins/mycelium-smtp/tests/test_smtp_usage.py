"""Every email sent is a usage record of the feature ``email.send``: analytics, ROI and /metrics
count what a real SMTP server (aiosmtpd on loopback) accepted or refused."""

from __future__ import annotations

from typing import Any

from mycelium_smtp import jobs
from smtp_helpers import SmtpServer
from test_smtp_queue import queue_one

from hub.testing import FrozenClock


def smtp_of(report: dict[str, Any]) -> dict[str, Any]:
    return next(item for item in report["integrations"] if item["plugin"] == "smtp")


def test_each_email_the_server_accepted_saves_a_minute(
    app: Any, api: Any, org: Any, smtp_ctx: Any, smtp_server: SmtpServer, hub_clock: FrozenClock
) -> None:
    ctx = smtp_ctx()
    for n in range(3):
        queue_one(ctx, to=[f"person{n}@acme.example"])
    smtp_server.mailbox.data_replies = ["554 5.7.1 Rejected as spam"]  # the first is refused
    report = jobs.deliver_org(org.id)  # the queue's job, with the context it builds itself
    assert report is not None and report.sent == 2
    assert len(smtp_server.mailbox.received) == 2

    usage = smtp_of(api.get("/api/integrations/analytics?period=daily").json)
    assert usage["breakdown"]["by_feature"] == {"email.send": 3}
    assert usage["breakdown"]["by_status"] == {"250": 2, "554": 1}
    assert usage["metrics"]["failed_requests"] == 1
    assert usage["metrics"]["bytes_transferred"] > 1000  # the messages' size
    roi = api.get("/api/integrations/roi").json
    assert roi["time_saved"] == {"smtp": {"email.send": {"count": 2, "seconds_each": 60.0}}}
    assert roi["total_seconds_saved"] == 120


def test_a_deferred_email_is_a_failed_attempt_then_one_email(
    app: Any, api: Any, org: Any, smtp_ctx: Any, smtp_server: SmtpServer, hub_clock: FrozenClock
) -> None:
    ctx = smtp_ctx()
    queue_one(ctx)
    smtp_server.mailbox.data_replies = ["451 4.3.0 Try again later"]
    jobs.deliver_org(org.id)
    hub_clock.advance(minutes=2)
    jobs.deliver_org(org.id)
    usage = smtp_of(api.get("/api/integrations/analytics?period=daily").json)
    assert usage["breakdown"]["by_status"] == {"250": 1, "451": 1}
    assert api.get("/api/integrations/roi").json["time_saved"]["smtp"]["email.send"]["count"] == 1
