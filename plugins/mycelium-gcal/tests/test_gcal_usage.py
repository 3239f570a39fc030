"""Google Calendar's units of work are a deadline event written and a meeting scheduled:
analytics and ROI count the ones the (loopback) Google accepted, once each, and nothing
for the calls around them (a refused insert, removals, Meet-link reads, changes)."""

from __future__ import annotations

from typing import Any

from gcal_helpers import in_days, live_deadlines, make_client, make_deliverable

from hub.testing import run_jobs

MEETINGS = "/api/integrations/gcal/meetings"
TWO_MINUTES = 120.0


def gcal_analytics(api: Any) -> dict[str, Any]:
    items = api.get("/api/integrations/analytics?period=daily").json["integrations"]
    return next(item for item in items if item["plugin"] == "gcal")


def test_deadline_events_written_and_meetings_scheduled_are_counted_once_each(
    app, api, connected, hub_clock
):
    assert api.patch("/api/integrations/gcal", json={"sync_meetings": True}).status_code == 200
    globex = make_client(api)["id"]
    connected.rate_limit_next("rateLimitExceeded")  # the first insert is refused: no unit
    logo = make_deliverable(api, globex, "Logo", in_days(2))
    run_jobs(app)
    hub_clock.advance(seconds=31)
    run_jobs(app)
    site = make_deliverable(api, globex, "Site", in_days(3))
    make_deliverable(api, globex, "Far away", in_days(40))  # outside the window: no event
    run_jobs(app)
    api.patch(f"/api/deliverables/{logo['id']}", json={"due_at": in_days(4).isoformat()})
    api.delete(f"/api/deliverables/{site['id']}")  # a removal: upkeep, not a unit
    run_jobs(app)
    assert [e["summary"] for e in live_deadlines(connected)] == ["📋 Logo"]

    connected.store.conference_reads = 1  # the Meet link is read again once: not a unit
    start = in_days(5).replace(microsecond=0, second=0).isoformat()
    meeting = api.post(
        MEETINGS,
        json={
            "deliverable_id": logo["id"],
            "title": "Review",
            "start_at": start,
            "duration_minutes": 30,
            "attendees": ["client@globex.test"],
            "meet_link": True,
        },
    ).json
    run_jobs(app)
    api.patch(f"{MEETINGS}/{meeting['id']}", json={"title": "Logo review"})
    run_jobs(app)
    assert api.get(f"{MEETINGS}/{meeting['id']}").json["meet_url"]

    roi = api.get("/api/integrations/roi").json
    assert roi["time_saved"]["gcal"] == {
        "deadline_event": {"count": 3, "seconds_each": TWO_MINUTES},  # 2 inserts, 1 re-date
        "meeting": {"count": 1, "seconds_each": TWO_MINUTES},
    }
    assert roi["by_integration"]["gcal"]["seconds_saved"] == 4 * TWO_MINUTES
    features = gcal_analytics(api)["breakdown"]["by_feature"]
    assert features["deadline_event"] == 4  # the refused insert is shown, and counts nothing
    assert features["deadline_removal"] == 1 and features["meeting"] == 1
    assert features["meeting_update"] >= 2  # the Meet link read, the rename
