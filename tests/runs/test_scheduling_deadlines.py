"""The deadline scan across many organizations and time zones: each deliverable's
``deliverable.due_soon`` when it enters its org's window, ``deliverable.overdue`` when it
passes due, each exactly once, also with two scans running at the same moment."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import update

from hub.core import deadlines
from hub.core.models import Event, Organization
from hub.extensions import db
from hub.testing import ApiClient, make_org

T0 = datetime(2030, 6, 1, 8, 0, tzinfo=UTC)
ZONES = ("Pacific/Auckland", "America/Los_Angeles", "Asia/Kolkata", "UTC", "Europe/London")
WINDOWS = (24, 2, 48)
# Due times as local wall-clock text (read in the org's zone), hours after T0 in UTC terms.
OFFSETS = (1, 5, 30, 50, -3)


def scan(app) -> int:
    with app.app_context():
        count = deadlines.scan_deadlines(db.session)
        db.session.remove()
        return count


def deadline_events(app) -> list[tuple[str, int, datetime]]:
    with app.app_context():
        rows = db.session.scalars(
            db.select(Event).where(Event.type.like("deliverable.%")).order_by(Event.seq)
        )
        found = [
            (e.type, e.payload["id"], e.created_at)
            for e in rows
            if e.type in ("deliverable.due_soon", "deliverable.overdue")
        ]
        db.session.remove()
        return found


def setup_agencies(app, client, hub_clock) -> dict[int, tuple[datetime, int]]:
    """Orgs in many zones and windows, deliverables due around T0: {id: (due UTC, window)}."""
    hub_clock.set(T0)
    expected = {}
    for index, zone in enumerate(ZONES * 2):
        handle = make_org(app, f"Agency {index}", zone)
        window = WINDOWS[index % len(WINDOWS)]
        with app.app_context():
            db.session.execute(
                update(Organization)
                .where(Organization.id == handle.id)
                .values(due_soon_hours=window)
            )
            db.session.commit()
        api = ApiClient(client, handle.admin_key)
        client_id = api.post("/api/clients", json={"name": "Client"}).json["id"]
        for hours in OFFSETS:
            due = T0 + timedelta(hours=hours, minutes=index)
            local = due.astimezone(ZoneInfo(zone)).replace(tzinfo=None).isoformat()
            body = {"client_id": client_id, "title": f"Due {hours}h", "due_at": local}
            created = api.post("/api/deliverables", json=body)
            assert created.status_code == 201, created.json
            expected[created.json["id"]] = (due, window)
        done = api.post("/api/deliverables", json={**body, "title": "Done", "due_at": local})
        api.post(f"/api/deliverables/{done.json['id']}/complete")  # completed: never noticed
    return expected


def test_every_due_soon_and_overdue_fires_once_at_its_time_across_zones(app, client, hub_clock):
    expected = setup_agencies(app, client, hub_clock)
    step = timedelta(minutes=20)
    while hub_clock.now() <= T0 + timedelta(hours=52):
        scan(app)
        hub_clock.advance(seconds=step.total_seconds())
    found = deadline_events(app)
    assert Counter((kind, d) for kind, d, _ in found).most_common(1)[0][1] == 1  # never twice
    for deliverable_id, (due, window) in expected.items():
        times = {kind: at for kind, d, at in found if d == deliverable_id}
        first_seen = max(due, T0)  # one created overdue is noticed at the first scan
        assert first_seen <= times["deliverable.overdue"] < first_seen + step
        if due - timedelta(hours=window) > T0:  # entered its window while we watched
            soon = times["deliverable.due_soon"]
            assert due - timedelta(hours=window) <= soon < due - timedelta(hours=window) + step
        elif due > T0:  # created inside its window: noticed at the first scan
            assert times["deliverable.due_soon"] == T0
        else:  # created overdue: only overdue
            assert "deliverable.due_soon" not in times
    assert scan(app) == 0


@pytest.mark.postgresql_race
def test_two_scans_at_the_same_moment_emit_each_event_once(app, client, hub_clock):
    """Only meaningful on PostgreSQL: SQLite's write lock serialises the two scans, so a scan
    without the unique notice row passes there too; CI runs this on PostgreSQL as well."""
    expected = setup_agencies(app, client, hub_clock)
    for hours in (0, 6, 24, 49, 60):
        hub_clock.set(T0 + timedelta(hours=hours))
        barrier = threading.Barrier(2)
        counts: list[int] = []

        def scanner(barrier: threading.Barrier = barrier, counts: list[int] = counts) -> None:
            barrier.wait()
            counts.append(scan(app))

        threads = [threading.Thread(target=scanner) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert len(counts) == 2
    found = Counter((kind, d) for kind, d, _ in deadline_events(app))
    assert set(found.values()) == {1}
    assert {d for kind, d in found if kind == "deliverable.overdue"} == set(expected)
