"""Digests at 09:00 in each organization's time zone: across zones and DST changes, once."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from mycelium_smtp import jobs
from mycelium_smtp.digests import due_kinds
from mycelium_smtp.models import Email
from smtp_helpers import SmtpServer, smtp_config
from sqlalchemy import select

import hub
from hub.testing import ApiClient, FrozenClock, OrgHandle


def hourly(start: datetime, days: int) -> list[datetime]:
    return [start + timedelta(hours=h) for h in range(24 * days)]


def simulate(timezone: str, start: datetime, days: int) -> list[tuple[str, datetime]]:
    """What the hourly job would send: (kind, local time), remembering the last local date."""
    last: dict[str, date] = {}
    sent = []
    for at in hourly(start, days):
        for kind, local_date in due_kinds(timezone, at):
            if last.get(kind, date.min) < local_date:
                last[kind] = local_date
                sent.append((kind, at.astimezone(ZoneInfo(timezone))))
    return sent


@pytest.mark.parametrize(
    ("timezone", "first_day"),
    [
        ("Europe/London", date(2026, 3, 26)),  # BST starts Sun 29 March
        ("Europe/London", date(2026, 10, 22)),  # BST ends Sun 25 October
        ("America/New_York", date(2026, 3, 5)),  # EDT starts Sun 8 March
        ("America/New_York", date(2026, 10, 29)),  # EDT ends Sun 1 November
        ("Australia/Sydney", date(2026, 3, 30)),  # AEDT ends Sun 5 April
        ("Australia/Sydney", date(2026, 9, 30)),  # AEDT starts Sun 4 October
        ("Asia/Kolkata", date(2026, 3, 26)),  # +05:30: the hourly job runs at :30 local
        ("Australia/Lord_Howe", date(2026, 4, 1)),  # a 30-minute DST shift
        ("Pacific/Kiritimati", date(2026, 3, 26)),  # UTC+14
    ],
)
def test_daily_at_nine_local_once_a_day_across_dst(timezone: str, first_day: date) -> None:
    midnight = datetime.combine(first_day, datetime.min.time(), ZoneInfo(timezone))
    sent = simulate(timezone, midnight.astimezone(UTC), days=10)
    daily = [local for kind, local in sent if kind == "daily_digest"]
    days = [local.date() for local in daily]
    assert days == sorted(set(days)), "a day got two"
    first, last = days[0], days[-1]
    assert len(days) == (last - first).days + 1, "a day was skipped"
    assert days[0] == first_day and len(days) == 10
    assert all(local.hour == 9 for local in daily)
    weekly = [local for kind, local in sent if kind == "weekly_digest"]
    assert weekly and all(local.weekday() == 0 and local.hour == 9 for local in weekly)
    monthly = [local for kind, local in sent if kind == "monthly_report"]
    assert all(local.day == 1 and local.hour == 9 for local in monthly)


def test_same_instant_different_zones() -> None:
    """At 09:00 UTC it is 09:00 in London in winter but not in New York or Tokyo."""
    at = datetime(2026, 1, 14, 9, 0, tzinfo=UTC)  # a Wednesday
    assert due_kinds("Europe/London", at) == [("daily_digest", date(2026, 1, 14))]
    assert due_kinds("America/New_York", at) == []
    assert due_kinds("Asia/Tokyo", at) == []
    at = datetime(2026, 1, 14, 14, 0, tzinfo=UTC)
    assert due_kinds("America/New_York", at) == [("daily_digest", date(2026, 1, 14))]


def test_a_late_job_catches_up_but_not_at_night() -> None:
    nine_thirty = datetime(2026, 1, 14, 11, 0, tzinfo=UTC)  # 11:00 London: still the window
    assert due_kinds("Europe/London", nine_thirty) == [("daily_digest", date(2026, 1, 14))]
    assert due_kinds("Europe/London", datetime(2026, 1, 14, 12, 0, tzinfo=UTC)) == []


@pytest.fixture
def new_york(
    enable_plugin: Any,
    other_org: OrgHandle,
    other_api: ApiClient,
    smtp_server: SmtpServer,
    hub_clock: FrozenClock,
) -> ApiClient:
    """An agency in New York with email on, its admin opted into daily and weekly digests,
    and a deliverable made on 2 March, overdue since February (every digest has news)."""
    hub_clock.set(datetime(2026, 3, 2, 12, tzinfo=UTC))
    enable_plugin("smtp", smtp_config(smtp_server.port), org=other_org)
    prefs = {"daily_digest": True, "weekly_digest": True}
    assert other_api.put("/api/integrations/smtp/preferences", json=prefs).status_code == 200
    made = other_api.post("/api/clients", json={"name": "Globex"}).get_json()
    body = {
        "client_id": made["id"],
        "title": "Annual report",
        "assignee_id": other_org.admin.id,
        "due_at": "2026-02-20T17:00:00+00:00",
    }
    assert other_api.post("/api/deliverables", json=body).status_code == 201
    return other_api


def run_hourly(app: Any, org: OrgHandle, hub_clock: FrozenClock, hours: list[datetime]) -> None:
    """The hourly digest job, twice per slot (as if two schedulers had fired it), each time
    in its own app context and with the context the hub gives a per-integration job."""
    for at in hours:
        hub_clock.set(at)
        for _ in range(2):
            with app.app_context():
                ctx = _context(app, org)
                jobs.send_digests(ctx)
                ctx.db.commit()


def _context(app: Any, org: OrgHandle) -> Any:
    ctx = hub.context_for("smtp", org.id)
    assert ctx is not None
    return ctx


def digests(app: Any, org: OrgHandle) -> list[Email]:
    with app.app_context():
        from hub import db_session

        stmt = select(Email).where(Email.org_id == org.id, Email.template.like("%digest%"))
        return list(db_session().scalars(stmt.order_by(Email.id)))


def test_digests_across_the_us_dst_change(
    app: Any, new_york: ApiClient, other_org: OrgHandle, hub_clock: FrozenClock
) -> None:
    start = datetime(2026, 3, 5, 12, tzinfo=UTC)  # Thu 5 March; EDT starts Sun 8 March
    run_hourly(app, other_org, hub_clock, hourly(start, days=5))
    rows = digests(app, other_org)
    tz = ZoneInfo("America/New_York")
    created = [(r.template, r.created_at.astimezone(tz)) for r in rows]
    daily = [local for kind, local in created if kind == "daily_digest"]
    assert [d.date().day for d in daily] == [5, 6, 7, 8, 9]
    assert all(d.hour == 9 for d in daily)  # 14:00 UTC before the change, 13:00 after
    assert {d.astimezone(UTC).hour for d in daily} == {14, 13}
    weekly = [local for kind, local in created if kind == "weekly_digest"]
    assert [(w.date(), w.hour) for w in weekly] == [(date(2026, 3, 9), 9)]
    assert Counter(r.to[0] for r in rows) == {other_org.admin.email: 6}
    first = rows[0]
    assert first.subject == "Your day at Rival Agency: Thu 5 Mar 2026"
    assert "Annual report (Globex), due Fri 20 Feb 2026, 12:00 EST" in first.text


def test_monthly_report_on_the_first(
    app: Any,
    new_york: ApiClient,
    other_org: OrgHandle,
    hub_clock: FrozenClock,
    smtp_server: SmtpServer,
) -> None:
    start = datetime(2026, 3, 31, 12, tzinfo=UTC)
    run_hourly(app, other_org, hub_clock, hourly(start, days=2))
    with app.app_context():
        from hub import db_session

        stmt = select(Email).where(Email.org_id == other_org.id, Email.template == "monthly_report")
        [report] = db_session().scalars(stmt).all()
    assert report.to == [other_org.admin.email]  # admins get it unless they opt out
    assert report.subject == "Rival Agency in March 2026"
    assert report.created_at.astimezone(ZoneInfo("America/New_York")).hour == 9
    assert "Deliverables created: 1" in report.text and "Overdue now: 1" in report.text


def test_nobody_opted_in_means_no_digest(
    app: Any,
    enable_plugin: Any,
    other_org: OrgHandle,
    hub_clock: FrozenClock,
    smtp_server: SmtpServer,
) -> None:
    enable_plugin("smtp", smtp_config(smtp_server.port), org=other_org)
    run_hourly(app, other_org, hub_clock, hourly(datetime(2026, 3, 9, tzinfo=UTC), days=1))
    assert digests(app, other_org) == []
