"""Changes made in Google come back: sync tokens, 410, push channels and notifications."""

from __future__ import annotations

from datetime import timedelta

import pytest
from gcal_helpers import in_days, live_deadlines, make_client, make_deliverable
from mycelium_gcal import jobs
from mycelium_gcal.models import Channel

from hub import now
from hub.testing import run_jobs

MEETINGS = "/api/integrations/gcal/meetings"
NOTIFY = "/api/integrations/gcal/notifications"


@pytest.fixture
def meeting(app, api, connected):
    api.patch("/api/integrations/gcal", json={"sync_meetings": True})
    deliverable = make_deliverable(api, make_client(api)["id"], "Launch", in_days(10))
    start = in_days(2).replace(microsecond=0, second=0)
    made = api.post(
        MEETINGS,
        json={
            "deliverable_id": deliverable["id"],
            "title": "Review",
            "start_at": start.isoformat(),
            "duration_minutes": 30,
            "attendees": ["client@globex.test"],
        },
    ).json
    run_jobs(app)
    return made


def sync_now(app, org_id):
    with app.app_context():
        jobs.sync_calendar(org_id)


def event_types(api):
    return [e["type"] for e in reversed(api.get("/api/events").json["items"])]


def test_a_meeting_moved_in_google_moves_in_the_hub(app, api, org, connected, meeting):
    start = in_days(5).replace(microsecond=0, second=0)
    connected.move_event(
        meeting["calendar_event_id"], start.isoformat(), (start + timedelta(hours=1)).isoformat()
    )
    sync_now(app, org.id)
    run_jobs(app)
    shown = api.get(f"{MEETINGS}/{meeting['id']}").json
    assert shown["start_at"] == start.isoformat() and shown["duration_minutes"] == 60
    assert event_types(api)[-1] == "meeting.updated"
    # our own writes come back in the next sync and change nothing
    before = len(api.get("/api/events").json["items"])
    sync_now(app, org.id)
    assert len(api.get("/api/events").json["items"]) == before


def test_a_meeting_cancelled_in_google_shows_cancelled_in_the_hub(
    app, api, org, connected, meeting
):
    connected.cancel_event(meeting["calendar_event_id"])
    sync_now(app, org.id)
    run_jobs(app)
    assert api.get(f"{MEETINGS}/{meeting['id']}").json["status"] == "cancelled"
    assert event_types(api)[-1] == "meeting.cancelled"


def test_an_expired_sync_token_means_a_full_resync(app, api, org, connected, meeting):
    connected.expire_sync_tokens()
    connected.edit_event(meeting["calendar_event_id"], summary="Review (renamed in Google)")
    sync_now(app, org.id)
    lists = connected.calls("GET", path="calendars/primary/events")
    assert lists[-2]["query"].get("syncToken") and "syncToken" not in lists[-1]["query"]
    assert api.get(f"{MEETINGS}/{meeting['id']}").json["title"] == "Review (renamed in Google)"


def test_a_deadline_event_deleted_in_google_is_put_back(app, api, org, connected):
    made = make_deliverable(api, make_client(api)["id"], "Deck", in_days(3))
    run_jobs(app)
    [event] = live_deadlines(connected)
    connected.cancel_event(event["id"])
    sync_now(app, org.id)
    run_jobs(app)
    [back] = live_deadlines(connected)
    assert back["id"] == event["id"] and back["summary"] == "📋 Deck" and made["id"]


def _channel(app, org_id):
    with app.app_context():
        from hub import db_session

        return db_session().query(Channel).filter_by(org_id=org_id, stopped_at=None).one()


def test_connecting_opens_a_push_channel_with_a_secret_token(app, org, connected):
    [watch] = connected.calls("POST", path="calendars/primary/events/watch")
    body = watch["body"]
    assert body["type"] == "web_hook" and body["address"].endswith(NOTIFY)
    assert len(body["token"]) >= 40
    row = _channel(app, org.id)
    assert row.channel_id == body["id"] and row.token_hash != body["token"]  # only its hash


def test_notifications_are_checked_before_anything_else(app, client, org, connected, redis_client):
    [watch] = connected.calls("POST", path="calendars/primary/events/watch")
    channel, token = watch["body"]["id"], watch["body"]["token"]
    headers = {"X-Goog-Channel-ID": channel, "X-Goog-Resource-State": "exists"}
    forged = client.post(NOTIFY, headers={**headers, "X-Goog-Channel-Token": "forged"})
    assert forged.status_code == 401
    assert forged.get_json()["error"]["code"] == "invalid_channel_token"
    assert client.post(NOTIFY, headers=headers).status_code == 401
    unknown = {**headers, "X-Goog-Channel-ID": "nope", "X-Goog-Channel-Token": token}
    assert client.post(NOTIFY, headers=unknown).status_code == 404
    redis_client.delete(f"gcal:sync-queued:{org.id}")
    before = len(connected.calls("GET", path="calendars/primary/events"))
    for _ in range(3):  # a burst makes one sync
        good = client.post(NOTIFY, headers={**headers, "X-Goog-Channel-Token": token})
        assert good.status_code == 200
    run_jobs(app)
    assert len(connected.calls("GET", path="calendars/primary/events")) == before + 1


def test_channels_are_renewed_before_they_expire(app, org, connected, plugin_context, hub_clock):
    first = _channel(app, org.id)
    hub_clock.set(first.expires_at - timedelta(hours=2))
    jobs.maintain(plugin_context("gcal"))
    watches = connected.calls("POST", path="calendars/primary/events/watch")
    stops = connected.calls("POST", path="channels/stop")
    assert len(watches) == 2 and stops[-1]["body"]["id"] == first.channel_id
    assert _channel(app, org.id).channel_id == watches[-1]["body"]["id"]


def test_disconnect_stops_the_channel_then_revokes(app, api, org, connected):
    row = _channel(app, org.id)
    response = api.delete("/api/integrations/gcal/connection")
    assert response.status_code == 200 and response.json["revoked"] is True
    [stop] = connected.calls("POST", path="channels/stop")
    assert stop["body"]["id"] == row.channel_id
    assert connected.oauth.revoked and connected.pusher.live() == []
    with app.app_context():
        from hub import db_session

        assert db_session().query(Channel).filter_by(stopped_at=None).count() == 0


def test_the_poll_reads_changes_when_no_push_came(
    app, org, connected, plugin_context, hub_clock, redis_client
):
    redis_client.delete(f"gcal:sync-queued:{org.id}")
    hub_clock.advance(minutes=16)
    before = len(connected.calls("GET", path="calendars/primary/events"))
    jobs.maintain(plugin_context("gcal"))
    run_jobs(app)
    assert len(connected.calls("GET", path="calendars/primary/events")) == before + 1
    assert now() == hub_clock.now()


def test_disabling_stops_the_channel_with_the_token_still_kept(app, api, org, connected):
    row = _channel(app, org.id)
    assert api.delete("/api/integrations/gcal").status_code == 200
    run_jobs(app)
    [stop] = connected.calls("POST", path="channels/stop")
    assert stop["body"] == {"id": row.channel_id, "resourceId": row.resource_id}
    assert connected.pusher.live() == [] and connected.oauth.revoked == []
