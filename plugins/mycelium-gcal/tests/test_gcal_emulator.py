"""The emulator answers as Google does (it stands in for Google in tests, the bench and the
sandbox, so its fidelity is tested on its own, over HTTP)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests
from mycelium_gcal.emulator import GoogleEmulator

EVENT = {
    "summary": "x",
    "start": {"dateTime": "2026-12-10T10:00:00+00:00"},
    "end": {"dateTime": "2026-12-10T11:00:00+00:00"},
}


@pytest.fixture
def api() -> Iterator[tuple[GoogleEmulator, requests.Session, str]]:
    google = GoogleEmulator().start()
    google.oauth.access_tokens["tok"] = None
    session = requests.Session()
    session.headers["Authorization"] = "Bearer tok"
    yield google, session, f"{google.url}/calendar/v3/calendars/primary/events"
    google.stop()


def reason(response: requests.Response) -> str:
    return response.json()["error"]["errors"][0]["reason"]


def test_ids_are_checked_kept_after_delete_and_deleted_once(api):
    _, http, events = api
    assert reason(http.post(events, json={**EVENT, "id": "NOT-base32"})) == "invalid"
    assert http.post(events, json={**EVENT, "id": "abcde12345"}).status_code == 200
    assert http.post(events, json={**EVENT, "id": "abcde12345"}).status_code == 409
    assert http.delete(f"{events}/abcde12345").status_code == 204
    assert http.delete(f"{events}/abcde12345").status_code == 410
    assert http.post(events, json={**EVENT, "id": "abcde12345"}).status_code == 409
    restored = http.patch(f"{events}/abcde12345", json={"status": "confirmed"}).json()
    assert restored["status"] == "confirmed" and restored["sequence"] == 1


def test_sync_tokens_return_what_changed_and_expire_with_410(api):
    google, http, events = api
    http.post(events, json={**EVENT, "id": "aaaaa11111"})
    token = http.get(events).json()["nextSyncToken"]
    http.post(events, json={**EVENT, "id": "bbbbb22222"})
    http.delete(f"{events}/aaaaa11111")
    changed = http.get(events, params={"syncToken": token}).json()
    assert [(e["id"], e["status"]) for e in changed["items"]] == [
        ("bbbbb22222", "confirmed"),
        ("aaaaa11111", "cancelled"),
    ]
    assert http.get(events, params={"syncToken": changed["nextSyncToken"]}).json()["items"] == []
    google.expire_sync_tokens()
    assert http.get(events, params={"syncToken": token}).status_code == 410


def test_errors_have_googles_shape(api):
    google, http, events = api
    assert reason(http.get(events, headers={"Authorization": "Bearer bad"})) == "authError"
    google.rate_limit_next("userRateLimitExceeded")
    limited = http.get(events)
    assert limited.status_code == 403 and reason(limited) == "userRateLimitExceeded"
    google.rate_limit_next("429")
    assert http.get(events).status_code == 429
    missing = http.get(f"{google.url}/calendar/v3/calendars/nope/events")
    assert missing.status_code == 404 and reason(missing) == "notFound"
    empty = http.post(events, json={**EVENT, "end": {"dateTime": "2026-12-10T09:00:00+00:00"}})
    assert reason(empty) == "timeRangeEmpty"


def test_a_conference_is_pending_first(api):
    google, http, events = api
    google.store.conference_reads = 1
    body = {**EVENT, "conferenceData": {"createRequest": {"requestId": "r1"}}}
    made = http.post(events, json=body, params={"conferenceDataVersion": 1}).json()
    assert made["conferenceData"]["createRequest"]["status"]["statusCode"] == "pending"
    assert "hangoutLink" not in http.get(f"{events}/{made['id']}").json()
    ready = http.get(f"{events}/{made['id']}").json()
    assert ready["hangoutLink"].startswith("https://meet.google.com/")
    ignored = http.post(events, json=body).json()  # conferenceDataVersion 0 ignores it
    assert "conferenceData" not in ignored


def test_refresh_gives_no_new_refresh_token_and_revoke_ends_both(api):
    google, _, _ = api
    google.oauth.refresh_tokens.add("1//r")
    form = {"client_id": google.oauth.client_id, "client_secret": google.oauth.client_secret}
    token_url = f"{google.url}/token"
    fresh = requests.post(
        token_url, data={**form, "grant_type": "refresh_token", "refresh_token": "1//r"}
    ).json()
    assert fresh["access_token"] and "refresh_token" not in fresh
    assert requests.post(f"{google.url}/revoke", data={"token": "1//r"}).status_code == 200
    refused = requests.post(
        token_url, data={**form, "grant_type": "refresh_token", "refresh_token": "1//r"}
    )
    assert refused.json()["error"] == "invalid_grant"
    assert fresh["access_token"] not in google.oauth.access_tokens


def test_the_emulator_serves_loopback_only():
    with pytest.raises(ValueError):
        GoogleEmulator().start(host="0.0.0.0")
