"""Deadline events kept true, through the API and a real worker, against the emulator."""

from __future__ import annotations

from datetime import datetime, timedelta

from gcal_helpers import event_of, in_days, live_deadlines, make_client, make_deliverable

from hub.testing import run_jobs

INSERT = "calendars/primary/events"


def test_a_new_deliverable_gets_one_event_in_the_org_zone(app, api, org, connected):
    globex = make_client(api)
    due = in_days(3).replace(microsecond=0)
    made = make_deliverable(
        api, globex["id"], "Logo refresh", due, assignee_id=org.admin.id, description="v2"
    )
    run_jobs(app)
    [event] = live_deadlines(connected)
    assert event == event_of(connected, org.id, made["id"])
    assert event["summary"] == "📋 Logo refresh"
    assert event["start"]["timeZone"] == "Europe/London"  # the org's, not a fixed one
    start = datetime.fromisoformat(event["start"]["dateTime"])
    end = datetime.fromisoformat(event["end"]["dateTime"])
    assert start == due and end - start == timedelta(minutes=60)
    assert event["attendees"][0]["email"] == org.admin.email
    assert event["reminders"]["overrides"] == [
        {"method": "email", "minutes": 60},
        {"method": "popup", "minutes": 15},
    ]
    assert "Client: Globex" in event["description"] and "Ada Admin" in event["description"]
    assert "v2" in event["description"]


def _due_in_tz(when: str, zone: str) -> datetime:
    from zoneinfo import ZoneInfo

    return datetime.fromisoformat(when).replace(tzinfo=ZoneInfo(zone))


def test_daylight_saving_the_end_is_sixty_real_minutes_later(app, api, org, connected, hub_clock):
    """01:30 on the night New York's clocks go back: the hour after is 01:30 EST, not 02:30
    (adding an hour to the wall clock makes a two-hour event)."""
    api.patch("/api/org", json={"timezone": "America/New_York"})
    hub_clock.set(_due_in_tz("2026-10-25T12:00:00", "America/New_York"))
    run_jobs(app)
    globex = make_client(api)
    due = _due_in_tz("2026-11-01T01:30:00", "America/New_York")  # fold 0: EDT, -04:00
    made = make_deliverable(api, globex["id"], "Night release", due)
    summer = make_deliverable(
        api, globex["id"], "Summer", _due_in_tz("2026-11-20T09:00:00", "America/New_York")
    )
    run_jobs(app)
    event = event_of(connected, org.id, made["id"])
    assert event["start"] == {
        "dateTime": "2026-11-01T01:30:00-04:00",
        "timeZone": "America/New_York",
    }
    assert event["end"] == {"dateTime": "2026-11-01T01:30:00-05:00", "timeZone": "America/New_York"}
    later = event_of(connected, org.id, summer["id"])
    assert later["start"]["dateTime"] == "2026-11-20T09:00:00-05:00"  # 09:00 local, in EST


def test_a_deliverable_re_dated_three_times_keeps_one_event_at_the_last_date(
    app, api, org, connected
):
    globex = make_client(api)
    made = make_deliverable(api, globex["id"], "Brand book", in_days(2))
    run_jobs(app)
    last = None
    for days in (4, 6, 8):
        last = in_days(days).replace(microsecond=0)
        api.patch(f"/api/deliverables/{made['id']}", json={"due_at": last.isoformat()})
        run_jobs(app)
    [event] = live_deadlines(connected)
    assert datetime.fromisoformat(event["start"]["dateTime"]) == last
    assert len(connected.calls("POST", path=INSERT)) == 1  # one insert, then patches


def test_a_run_with_an_old_payload_does_not_put_back_an_old_date(
    app, api, org, connected, plugin_context
):
    """Runs may execute late or twice: the event follows the deliverable as it is now."""
    import mycelium_gcal

    from hub import EventInfo, now

    globex = make_client(api)
    made = make_deliverable(api, globex["id"], "Deck", in_days(2))
    newest = in_days(9).replace(microsecond=0)
    api.patch(f"/api/deliverables/{made['id']}", json={"due_at": newest.isoformat()})
    run_jobs(app)
    ctx = plugin_context("gcal")
    stale = EventInfo("evt_old", "deliverable.created", org.id, now(), made)
    mycelium_gcal.on_deliverable_created(ctx, made)  # the first event's payload, re-run
    ctx.db.commit()
    [event] = live_deadlines(connected)
    assert datetime.fromisoformat(event["start"]["dateTime"]) == newest
    assert stale.id == "evt_old"


def test_completed_deliverables_are_marked_and_lose_their_reminders(app, api, org, connected):
    made = make_deliverable(api, make_client(api)["id"], "Logo", in_days(1))
    run_jobs(app)
    assert api.post(f"/api/deliverables/{made['id']}/complete").status_code == 200
    run_jobs(app)
    event = event_of(connected, org.id, made["id"])
    assert event["summary"] == "✅ Logo" and event["reminders"]["overrides"] == []


def test_deleted_deliverables_and_clients_take_their_events_with_them(app, api, org, connected):
    globex, acme = make_client(api), make_client(api, "Acme")
    one = make_deliverable(api, globex["id"], "One", in_days(1))
    make_deliverable(api, acme["id"], "Two", in_days(2))
    make_deliverable(api, acme["id"], "Three", in_days(3))
    run_jobs(app)
    assert len(live_deadlines(connected)) == 3
    assert api.delete(f"/api/deliverables/{one['id']}").status_code == 204
    run_jobs(app)
    assert {e["summary"] for e in live_deadlines(connected)} == {"📋 Two", "📋 Three"}
    assert api.delete(f"/api/clients/{acme['id']}").status_code == 204
    run_jobs(app)
    assert live_deadlines(connected) == []
    assert len(connected.events(deleted=True)) == 3  # Google keeps them, cancelled


def test_leaving_the_window_removes_the_event_and_coming_back_restores_it(app, api, org, connected):
    made = make_deliverable(api, make_client(api)["id"], "Site", in_days(5))
    run_jobs(app)
    api.patch(f"/api/deliverables/{made['id']}", json={"due_at": in_days(45).isoformat()})
    run_jobs(app)
    assert live_deadlines(connected) == []
    back = in_days(6).replace(microsecond=0)
    api.patch(f"/api/deliverables/{made['id']}", json={"due_at": back.isoformat()})
    run_jobs(app)
    [event] = live_deadlines(connected)  # the same id, confirmed again (Google kept it)
    assert event["status"] == "confirmed"
    assert datetime.fromisoformat(event["start"]["dateTime"]) == back


def test_a_new_org_time_zone_rewrites_the_events(app, api, org, connected):
    made = make_deliverable(api, make_client(api)["id"], "Copy", in_days(3))
    run_jobs(app)
    before = len(connected.calls())
    api.patch("/api/org", json={"timezone": "Asia/Tokyo"})
    run_jobs(app)
    event = event_of(connected, org.id, made["id"])
    assert event["start"]["timeZone"] == "Asia/Tokyo" and event["start"]["dateTime"].endswith(
        "+09:00"
    )
    assert len(connected.calls()) - before == 1  # one patch


def test_the_daily_sweep_adds_deliverables_that_entered_the_window(
    app, api, org, connected, plugin_context, hub_clock
):
    from mycelium_gcal import jobs

    make_deliverable(api, make_client(api)["id"], "Far off", in_days(40))
    run_jobs(app)
    assert live_deadlines(connected) == []
    hub_clock.advance(days=11)  # now due within 29 days
    jobs.maintain(plugin_context("gcal"))
    run_jobs(app)
    assert [e["summary"] for e in live_deadlines(connected)] == ["📋 Far off"]
