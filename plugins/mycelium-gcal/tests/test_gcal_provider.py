"""What the plugin declares and how an organization connects it; the failure policy of its
runs (rate limits, expired tokens, a refused refresh, a calendar that does not exist)."""

from __future__ import annotations

from importlib import metadata
from urllib.parse import parse_qs, urlsplit

import mycelium_gcal
import pytest
from gcal_helpers import in_days, live_deadlines, make_client, make_deliverable
from mycelium_gcal.ids import VALID, deadline_event_id, new_meeting_event_id

from hub.testing import open_auth_url, run_jobs


def test_the_entry_point_is_installed():
    found = {ep.name: ep for ep in metadata.entry_points(group="mycelium")}
    assert found["gcal"].load() is mycelium_gcal


def test_hook_register_providers(api):
    [plugin] = [p for p in api.get("/api/plugins").json["items"] if p["name"] == "gcal"]
    assert plugin["auth"]["kind"] == "oauth2" and plugin["auth"]["pkce"] is True
    settings = {s["name"] for s in plugin["settings"]}
    assert {
        "GOOGLE_CLIENT_ID",
        "GOOGLE_CLIENT_SECRET",
        "GOOGLE_AUTHORIZE_URL",
        "GOOGLE_TOKEN_URL",
        "GOOGLE_REVOKE_URL",
        "GOOGLE_CALENDAR_API_BASE",
    } <= settings
    limits = mycelium_gcal.PROVIDER.rate_limits
    assert (limits.per_second, limits.per_minute, limits.per_hour, limits.per_day) == (
        100,
        1000,
        100_000,
        1_000_000,
    )


def test_connect_asks_for_offline_access_consent_pkce_and_one_scope(client, api):
    auth_url = api.get("/api/integrations/gcal/connect").json["auth_url"]
    url = open_auth_url(client, auth_url)  # the hub's launch URL sends the browser to Google
    query = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
    assert query["access_type"] == "offline" and query["prompt"] == "consent"
    assert query["code_challenge_method"] == "S256" and query["code_challenge"]
    assert query["scope"] == "https://www.googleapis.com/auth/calendar.events"
    assert query["redirect_uri"].endswith("/api/integrations/gcal/callback")


def test_the_config_has_the_seeds_defaults_and_names_a_bad_field(api, connected):
    assert api.put("/api/integrations/gcal", json={}).status_code == 200
    config = api.get("/api/integrations/gcal").json["config"]
    assert config == {
        "calendar_id": "primary",
        "sync_deadlines": True,
        "sync_meetings": False,
        "create_events": True,
        "reminder_minutes": 60,
        "deadline_event_minutes": 60,
        "sync_window_days": 30,
    }
    for bad in ({"sync_window_days": 0}, {"reminder_minutes": "soon"}, {"calendar": "x"}):
        response = api.patch("/api/integrations/gcal", json=bad)
        assert response.status_code == 400 and set(bad) <= set(response.json["error"]["details"])
    assert api.get("/api/integrations/gcal").json["config"] == config


def test_event_ids_follow_googles_rules_and_are_stable():
    assert VALID.match(deadline_event_id(1, 2)) and len(deadline_event_id(1, 2)) == 52
    assert deadline_event_id(1, 2) == deadline_event_id(1, 2) != deadline_event_id(2, 1)
    assert VALID.match(new_meeting_event_id()) and new_meeting_event_id() != new_meeting_event_id()


def test_hook_health_check(api, connected):
    result = api.post("/api/integrations/gcal/test").json
    health = result.get("health") or result
    assert health["ok"] is True and "'primary' is readable" in health["message"]
    assert health["details"]["calendar_time_zone"] == "UTC"
    api.patch("/api/integrations/gcal", json={"calendar_id": "gone@group.calendar.google.com"})
    result = api.post("/api/integrations/gcal/test").json
    health = result.get("health") or result
    assert health["ok"] is False and "gone@group.calendar.google.com" in health["message"]


def test_the_window_is_swept_on_connect(app, client, api, org, google, hub_clock):
    from gcal_helpers import connect

    globex = make_client(api)
    make_deliverable(api, globex["id"], "Soon", in_days(2))
    make_deliverable(api, globex["id"], "Far", in_days(40))
    make_deliverable(api, globex["id"], "Done", in_days(3), status="review")
    run_jobs(app)  # not connected yet: nothing goes to Google
    assert google.calls() == []
    connect(client, api, google)
    run_jobs(app)
    assert {e["summary"] for e in live_deadlines(google)} == {"📋 Soon", "📋 Done"}


def test_set_up_before_connecting_waits_not_connected_then_keeps_its_config(
    app, client, api, org, google, hub_clock
):
    from gcal_helpers import connect

    put = api.put("/api/integrations/gcal", json={"sync_window_days": 5})
    assert put.status_code == 200
    assert (put.json["enabled"], put.json["status"]) == (False, "not_connected")
    globex = make_client(api)
    make_deliverable(api, globex["id"], "In five days", in_days(3))
    make_deliverable(api, globex["id"], "In the default window only", in_days(10))
    run_jobs(app)
    assert api.get("/api/integrations/runs?plugin=gcal").json["items"] == []
    assert google.calls() == []
    connect(client, api, google)
    run_jobs(app)
    assert api.get("/api/integrations/gcal").json["status"] == "enabled"
    assert [e["summary"] for e in live_deadlines(google)] == ["📋 In five days"]


def test_a_rate_limited_run_waits_and_is_not_a_failure(app, api, org, connected, hub_clock):
    connected.rate_limit_next("rateLimitExceeded")
    make_deliverable(api, make_client(api)["id"], "Logo", in_days(2))
    run_jobs(app)
    runs = api.get("/api/integrations/runs?plugin=gcal&event_type=deliverable.created").json
    assert runs["items"][0]["state"] == "queued" and live_deadlines(connected) == []
    hub_clock.advance(seconds=31)
    run_jobs(app)
    assert len(live_deadlines(connected)) == 1
    gcal = api.get("/api/integrations/gcal").json
    assert gcal["consecutive_errors"] == 0


def test_an_expired_access_token_is_refreshed_once_and_the_call_retried(app, api, connected):
    connected.expire_access_tokens()
    make_deliverable(api, make_client(api)["id"], "Logo", in_days(2))
    run_jobs(app)
    assert len(live_deadlines(connected)) == 1 and connected.oauth.counts["refresh_token"] == 1


def test_a_401_after_the_refresh_needs_reauth_after_two_calls(app, api, connected):
    """The hub refreshes once and retries once; the plugin adds no third try."""
    connected.fail_next(401, "authError", "Invalid Credentials", count=2)
    make_deliverable(api, make_client(api)["id"], "Logo", in_days(2))
    run_jobs(app)
    assert len(connected.calls("POST", path="calendars/primary/events")) == 2
    assert connected.oauth.counts["refresh_token"] == 1 and live_deadlines(connected) == []
    assert api.get("/api/integrations/gcal").json["status"] == "needs_reauth"


def test_a_refused_refresh_needs_reauth(app, api, connected):
    connected.expire_access_tokens()
    connected.oauth.refresh_tokens.clear()  # revoked at Google: invalid_grant
    make_deliverable(api, make_client(api)["id"], "Logo", in_days(2))
    run_jobs(app)
    assert api.get("/api/integrations/gcal").json["status"] == "needs_reauth"
    types = [e["type"] for e in api.get("/api/events").json["items"]]
    assert "integration.needs_reauth" in types


def test_a_calendar_that_does_not_exist_fails_the_run_naming_it(app, api, connected):
    api.patch("/api/integrations/gcal", json={"calendar_id": "gone@group.calendar.google.com"})
    make_deliverable(api, make_client(api)["id"], "Logo", in_days(2))
    run_jobs(app)
    [run] = api.get("/api/integrations/runs?plugin=gcal&event_type=deliverable.created").json[
        "items"
    ]
    assert run["state"] == "failed" and "gone@group.calendar.google.com" in run["last_error"]


@pytest.mark.parametrize("setting", ["create_events", "sync_deadlines"])
def test_switches_stop_new_events(app, api, connected, setting):
    api.patch("/api/integrations/gcal", json={setting: False})
    make_deliverable(api, make_client(api)["id"], "Logo", in_days(2))
    run_jobs(app)
    assert live_deadlines(connected) == []


def test_turning_deadlines_off_removes_them_at_the_next_sweep(
    app, api, org, connected, plugin_context
):
    make_deliverable(api, make_client(api)["id"], "Logo", in_days(2))
    run_jobs(app)
    api.patch("/api/integrations/gcal", json={"sync_deadlines": False})
    from mycelium_gcal import window

    report = window.sweep(plugin_context("gcal"))
    assert report.actions == {"delete": 1} and live_deadlines(connected) == []
