"""Client meetings: the routes, the push to Google, Meet links, Idempotency-Key, events."""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta
from typing import Any

import pytest
from gcal_helpers import in_days, make_client, make_deliverable
from mycelium_gcal import jobs

from hub.testing import run_jobs

MEETINGS = "/api/integrations/gcal/meetings"


@pytest.fixture
def meetings_on(api, connected):
    assert api.patch("/api/integrations/gcal", json={"sync_meetings": True}).status_code == 200
    return connected


@pytest.fixture
def deliverable(api):
    return make_deliverable(api, make_client(api)["id"], "Website launch", in_days(10))


def body(deliverable, **changes):
    start = in_days(2).replace(microsecond=0, second=0)
    return {
        "deliverable_id": deliverable["id"],
        "title": "Kick-off",
        "description": "Agenda: scope",
        "start_at": start.isoformat(),
        "duration_minutes": 45,
        "attendees": ["client@globex.test", "max@agency.test"],
        "location": "Studio",
        "meet_link": True,
        **changes,
    }


def types_of(api, prefix="meeting."):
    return [
        e["type"]
        for e in reversed(api.get("/api/events").json["items"])
        if e["type"].startswith(prefix)
    ]


def test_scheduling_answers_with_the_event_and_the_meet_link_comes_later(
    app, api, org, meetings_on, deliverable
):
    meetings_on.store.conference_reads = 1  # the insert and one read answer "pending"
    sent = body(deliverable)
    created = api.post(MEETINGS, json=sent)
    assert created.status_code == 201, created.json
    meeting = created.json
    # Google was asked before the answer: the event, its link, and the Meet link to come
    assert meeting["status"] == "scheduled" and meeting["deliverable_id"] == deliverable["id"]
    assert meeting["html_link"].startswith("https://www.google.com/")
    assert meeting["meet_url"] is None and meeting["meet_status"] == "pending"
    assert meeting["pending"] is True and meeting["last_error"] is None
    assert datetime.fromisoformat(meeting["end_at"]) - datetime.fromisoformat(
        meeting["start_at"]
    ) == timedelta(minutes=45)
    event = meetings_on.event(meeting["calendar_event_id"])
    assert event["htmlLink"] == meeting["html_link"]
    assert [a["email"] for a in event["attendees"]] == sent["attendees"]
    assert (
        "Deliverable: Website launch" in event["description"]
        and "Client: Globex" in event["description"]
    )
    assert event["start"]["timeZone"] == "Europe/London" and event["location"] == "Studio"
    assert ("insert", meeting["calendar_event_id"], "all") in meetings_on.sent_updates
    assert meetings_on.calls("GET", meeting["calendar_event_id"]) == []  # no wait in a request
    run_jobs(app)
    shown = api.get(f"{MEETINGS}/{meeting['id']}").json
    assert shown["status"] == "scheduled" and shown["pending"] is False
    assert shown["meet_url"].startswith("https://meet.google.com/")
    # Google answered the conference "pending": the job read the event again until ready
    assert len(meetings_on.calls("GET", meeting["calendar_event_id"])) == 2
    assert types_of(api) == ["meeting.scheduled", "meeting.updated"]
    scheduled, updated = [
        e["data"]
        for e in reversed(api.get("/api/events").json["items"])
        if e["type"] in ("meeting.scheduled", "meeting.updated")
    ]
    assert scheduled["id"] == updated["id"] == meeting["id"]
    assert scheduled["html_link"] == meeting["html_link"] and scheduled["meet_url"] is None
    assert updated["meet_url"] == shown["meet_url"]


def test_a_conference_still_pending_is_filled_by_the_minute_job(
    app, api, meetings_on, deliverable, hub_clock
):
    meetings_on.store.conference_reads = 5  # slower than the push's own follow-up reads
    meeting = api.post(MEETINGS, json=body(deliverable)).json
    run_jobs(app)
    shown = api.get(f"{MEETINGS}/{meeting['id']}").json
    assert shown["status"] == "scheduled" and shown["meet_status"] == "pending"
    assert shown["meet_url"] is None and shown["pending"] is True

    for _ in range(3):
        hub_clock.advance(minutes=1)
        with app.app_context():
            jobs.due_meetings()
        run_jobs(app)
    shown = api.get(f"{MEETINGS}/{meeting['id']}").json
    assert shown["meet_status"] == "success" and shown["meet_url"] and shown["pending"] is False
    assert types_of(api) == ["meeting.scheduled", "meeting.updated"]  # the link, when ready


def test_meetings_are_refused_while_sync_meetings_is_off(api, connected, deliverable):
    response = api.post(MEETINGS, json=body(deliverable))
    assert response.status_code == 409
    assert "sync_meetings" in response.json["error"]["details"]
    assert api.get(MEETINGS).json["items"] == []


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"duration_minutes": 0}, "duration_minutes"),
        ({"duration_minutes": 1441}, "duration_minutes"),
        ({"attendees": ["not-an-email"]}, "attendees"),
        ({"attendees": [f"p{i}@x.test" for i in range(101)]}, "attendees"),
        ({"attendees": ["a@x.test", "A@x.test"]}, "attendees"),
        ({"title": " "}, "title"),
        ({"start_at": "tomorrow"}, "start_at"),
        ({"deliverable_id": 999999}, "deliverable_id"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_bad_input_names_the_field_and_changes_nothing(
    api, meetings_on, deliverable, change, field
):
    response = api.post(MEETINGS, json=body(deliverable, **change))
    assert response.status_code == 400, response.json
    assert field in response.json["error"]["details"]
    assert api.get(MEETINGS).json["items"] == []


def test_a_time_the_clocks_skip_is_refused(api, meetings_on, deliverable):
    api.patch("/api/org", json={"timezone": "America/New_York"})
    response = api.post(MEETINGS, json=body(deliverable, start_at="2027-03-14T02:30:00"))
    assert response.status_code == 400 and "start_at" in response.json["error"]["details"]
    local = api.post(MEETINGS, json=body(deliverable, start_at="2027-03-14T09:00:00"))
    assert local.json["start_at"] == "2027-03-14T13:00:00+00:00"  # 09:00 EDT


def test_another_orgs_deliverable_and_meetings_are_not_reachable(
    app, api, other_api, meetings_on, deliverable, other_org
):
    meeting = api.post(MEETINGS, json=body(deliverable)).json
    theirs = make_deliverable(other_api, make_client(other_api)["id"], "Theirs", in_days(3))
    refused = api.post(MEETINGS, json=body(deliverable, deliverable_id=theirs["id"]))
    assert refused.status_code == 400 and "deliverable_id" in refused.json["error"]["details"]
    assert other_api.get(f"{MEETINGS}/{meeting['id']}").status_code == 404


def test_an_idempotency_key_returns_the_same_meeting(app, api, meetings_on, deliverable):
    headers = {"Idempotency-Key": "kickoff-1"}
    first = api.post(MEETINGS, json=body(deliverable), headers=headers)
    again = api.post(MEETINGS, json=body(deliverable), headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.json["id"] == first.json["id"] and again.headers["Idempotent-Replayed"] == "true"
    other = api.post(MEETINGS, json=body(deliverable, title="Other"), headers=headers)
    assert other.status_code == 409 and "Idempotency-Key" in other.json["error"]["details"]
    run_jobs(app)
    assert len(api.get(MEETINGS).json["items"]) == 1
    assert len(meetings_on.events()) == 2  # the meeting and the deliverable's deadline


def test_patch_moves_the_meeting_and_tells_the_invitees(app, api, meetings_on, deliverable):
    meeting = api.post(MEETINGS, json=body(deliverable, meet_link=False)).json
    run_jobs(app)
    later = (in_days(3).replace(microsecond=0, second=0)).isoformat()
    changed = api.patch(
        f"{MEETINGS}/{meeting['id']}",
        json={"start_at": later, "title": "Kick-off (moved)", "attendees": ["client@globex.test"]},
    )
    assert changed.status_code == 200 and changed.json["pending"] is True
    run_jobs(app)
    event = meetings_on.event(meeting["calendar_event_id"])
    assert event["summary"] == "Kick-off (moved)" and [a["email"] for a in event["attendees"]] == [
        "client@globex.test"
    ]
    assert datetime.fromisoformat(event["start"]["dateTime"]) == datetime.fromisoformat(later)
    patch = meetings_on.calls("PATCH", meeting["calendar_event_id"])[-1]
    assert set(patch["body"]) == {"summary", "start", "end", "attendees"}  # what changed
    assert ("patch", meeting["calendar_event_id"], "all") in meetings_on.sent_updates
    assert types_of(api) == ["meeting.scheduled", "meeting.updated"]
    assert api.get(f"{MEETINGS}/{meeting['id']}").json["pending"] is False


def test_bad_patches_are_refused(api, meetings_on, deliverable):
    meeting = api.post(MEETINGS, json=body(deliverable)).json
    url = f"{MEETINGS}/{meeting['id']}"
    assert (
        "duration_minutes" in api.patch(url, json={"duration_minutes": 0}).json["error"]["details"]
    )
    assert api.patch(url, json={"deliverable_id": 1}).status_code == 400
    assert api.patch(url, json={}).status_code == 400
    assert api.patch(f"{MEETINGS}/99999", json={"title": "x"}).status_code == 404
    assert api.patch(f"{MEETINGS}/abc", json={"title": "x"}).status_code == 404


def test_delete_cancels_in_google_and_tells_the_invitees(app, api, meetings_on, deliverable):
    meeting = api.post(MEETINGS, json=body(deliverable)).json
    run_jobs(app)
    cancelled = api.delete(f"{MEETINGS}/{meeting['id']}")
    assert cancelled.status_code == 200 and cancelled.json["status"] == "cancelled"
    run_jobs(app)
    assert meetings_on.event(meeting["calendar_event_id"])["status"] == "cancelled"
    assert ("delete", meeting["calendar_event_id"], "all") in meetings_on.sent_updates
    assert types_of(api)[-1] == "meeting.cancelled"
    assert api.delete(f"{MEETINGS}/{meeting['id']}").status_code == 409
    assert api.patch(f"{MEETINGS}/{meeting['id']}", json={"title": "x"}).status_code == 409


def test_listing_by_deliverable(api, meetings_on, deliverable):
    other = make_deliverable(api, deliverable["client_id"], "Other", in_days(4))
    api.post(MEETINGS, json=body(deliverable))
    api.post(MEETINGS, json=body(other, title="About the other"))
    items = api.get(f"{MEETINGS}?deliverable_id={deliverable['id']}").json["items"]
    assert [m["title"] for m in items] == ["Kick-off"]
    assert len(api.get(MEETINGS).json["items"]) == 2
    assert api.get(f"{MEETINGS}?deliverable_id=x").status_code == 400


def test_a_rate_limited_push_waits_and_goes_through(app, api, meetings_on, deliverable, hub_clock):
    run_jobs(app)  # the deliverable's deadline event first
    meetings_on.rate_limit_next("userRateLimitExceeded")
    meeting = api.post(MEETINGS, json=body(deliverable, meet_link=False)).json
    assert meeting["status"] == "scheduling" and "Rate Limit" in meeting["last_error"]
    assert meeting["html_link"] is None and meeting["pending"] is True
    run_jobs(app)  # nothing yet: the job waits for Google's window
    shown = api.get(f"{MEETINGS}/{meeting['id']}").json
    assert shown["status"] == "scheduling" and "Rate Limit" in shown["last_error"]
    hub_clock.advance(seconds=31)
    with app.app_context():
        jobs.due_meetings()
    run_jobs(app)
    assert api.get(f"{MEETINGS}/{meeting['id']}").json["status"] == "scheduled"


def _while_google_is_slow(google: Any, work: Any) -> threading.Thread:
    """`work` started in a thread, returned once its call reached Google (which answers it
    2 s later, within the hub's timeouts)."""
    calls_before = len(google.requests)
    thread = threading.Thread(target=work)
    google.slow_next(2.0)
    thread.start()
    deadline = time.monotonic() + 5
    while len(google.requests) <= calls_before:
        assert time.monotonic() < deadline, "the call never reached Google"
        time.sleep(0.02)
    return thread


def test_no_transaction_is_held_while_google_answers(app, org, api, meetings_on, deliverable):
    """The meeting is committed before Google is asked: on SQLite a write transaction held
    across Google's answer would make every other write wait for it (PostgreSQL would not
    show it: it locks rows, not the database)."""
    run_jobs(app)  # the deliverable's deadline event first
    answers: list = []
    headers = {"Authorization": f"Bearer {org.admin_key}"}

    def schedule() -> None:
        answers.append(app.test_client().post(MEETINGS, json=body(deliverable), headers=headers))

    thread = _while_google_is_slow(meetings_on, schedule)
    other = api.post("/api/clients", json={"name": "Initech"})
    still_waiting_on_google = thread.is_alive()
    thread.join(10)
    assert other.status_code == 201 and still_waiting_on_google
    assert answers[0].status_code == 201 and answers[0].get_json()["status"] == "scheduled"
