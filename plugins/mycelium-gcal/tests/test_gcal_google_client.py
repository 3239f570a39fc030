"""The emulator against Google's own Python client (``google-api-python-client`` with
``google-auth``), an independent caller pointed at it: the Calendar API v3 built from the
discovery document the client ships (static discovery: nothing is fetched) with its root at
the emulator, credentials that refresh at the emulator's token endpoint, events inserted,
read, patched, listed page by page and from sync tokens, deleted, Google's errors as the
client reads them (and retries), and a watch channel the client opens getting Google's push
notifications until it stops it. Nothing leaves the machine: ``hub.testing`` refuses any
connection off loopback."""

from __future__ import annotations

import secrets
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from google.auth.exceptions import RefreshError
from google.oauth2.credentials import Credentials
from googleapiclient.discovery import build
from googleapiclient.errors import HttpError
from mycelium_gcal.emulator import GoogleEmulator

from hub.testing import LoopbackReceiver

SCOPE = "https://www.googleapis.com/auth/calendar.events"
REDIRECT = "http://127.0.0.1:9/callback"


def event(day: int, hour: int, summary: str = "Review", **fields: Any) -> dict[str, Any]:
    return {
        "summary": summary,
        "start": {"dateTime": f"2026-12-{day:02}T{hour:02}:00:00+00:00"},
        "end": {"dateTime": f"2026-12-{day:02}T{hour:02}:30:00+00:00"},
        **fields,
    }


def refresh_token(google: GoogleEmulator) -> str:
    """Consent with offline access, then the code exchanged at the token endpoint, as an app
    does once (google-auth refreshes; it does not exchange codes)."""
    consent = requests.get(
        f"{google.url}/o/oauth2/v2/auth",
        params={
            "client_id": google.oauth.client_id,
            "response_type": "code",
            "redirect_uri": REDIRECT,
            "scope": SCOPE,
            "access_type": "offline",
            "prompt": "consent",
            "state": "s",
        },
        allow_redirects=False,
        timeout=10,
    )
    code = parse_qs(urlsplit(consent.headers["Location"]).query)["code"][0]
    answer = requests.post(
        f"{google.url}/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT,
            "client_id": google.oauth.client_id,
            "client_secret": google.oauth.client_secret,
        },
        timeout=10,
    )
    assert answer.status_code == 200, answer.text
    return str(answer.json()["refresh_token"])


def credentials(google: GoogleEmulator) -> Credentials:
    """google-auth's user credentials, with no access token yet: the first call refreshes."""
    return Credentials(
        token=None,
        refresh_token=refresh_token(google),
        token_uri=f"{google.url}/token",
        client_id=google.oauth.client_id,
        client_secret=google.oauth.client_secret,
        scopes=[SCOPE],
    )


def calendar(google: GoogleEmulator, creds: Credentials | None = None) -> Any:
    """The Calendar API as Google's client builds it, its root moved to the emulator."""
    return build(
        "calendar",
        "v3",
        credentials=creds or credentials(google),
        static_discovery=True,
        cache_discovery=False,
        client_options={"api_endpoint": f"{google.url}/calendar/v3/"},
    )


def reason(error: HttpError) -> str:
    return str(error.error_details[0]["reason"])


def test_credentials_refresh_at_the_emulator_again_after_a_401_and_not_once_revoked(google):
    creds = credentials(google)
    api = calendar(google, creds)
    listed = api.events().list(calendarId="primary").execute()
    assert listed["kind"] == "calendar#events" and listed["items"] == []
    assert listed["nextSyncToken"] and "nextPageToken" not in listed
    assert creds.token.startswith("ya29.") and creds.expiry is not None
    assert google.oauth.counts["refresh_token"] == 1
    first = creds.token
    google.expire_access_tokens()  # Google answers 401: the client refreshes and tries again
    assert api.events().list(calendarId="primary").execute()["items"] == []
    assert google.oauth.counts["refresh_token"] == 2 and creds.token != first
    requests.post(f"{google.url}/revoke", data={"token": creds.refresh_token}, timeout=10)
    with pytest.raises(RefreshError, match="invalid_grant"):  # google-auth reads Google's 400
        api.events().list(calendarId="primary").execute()


def test_events_insert_get_patch_and_delete_through_the_client(google):
    api = calendar(google)
    events = api.events()
    body = event(10, 10, conferenceData={"createRequest": {"requestId": "r1"}})
    made = events.insert(calendarId="primary", body=body, conferenceDataVersion=1).execute()
    assert made["kind"] == "calendar#event" and made["status"] == "confirmed"
    assert made["conferenceData"]["createRequest"]["status"]["statusCode"] == "pending"
    events.get(calendarId="primary", eventId=made["id"]).execute()  # still pending
    ready = events.get(calendarId="primary", eventId=made["id"]).execute()
    assert ready["hangoutLink"].startswith("https://meet.google.com/")

    moved = events.patch(
        calendarId="primary",
        eventId=made["id"],
        body={**event(11, 15), "summary": "Moved review"},
        sendUpdates="all",
    ).execute()
    assert moved["summary"] == "Moved review" and moved["sequence"] == 1
    assert moved["start"]["dateTime"].startswith("2026-12-11T15:00")
    assert moved["hangoutLink"] == ready["hangoutLink"]  # the conference stays
    assert ("patch", made["id"], "all") in google.sent_updates

    assert events.delete(calendarId="primary", eventId=made["id"]).execute() == ""
    assert google.events() == []
    with pytest.raises(HttpError) as deleted:
        events.delete(calendarId="primary", eventId=made["id"]).execute()
    assert deleted.value.status_code == 410 and reason(deleted.value) == "deleted"

    fixed = events.insert(calendarId="primary", body=event(12, 9, id="abcde12345")).execute()
    assert fixed["id"] == "abcde12345"
    with pytest.raises(HttpError) as taken:
        events.insert(calendarId="primary", body=event(12, 9, id="abcde12345")).execute()
    assert taken.value.status_code == 409 and reason(taken.value) == "duplicate"
    backwards = {**event(12, 9), "end": {"dateTime": "2026-12-12T08:00:00+00:00"}}
    with pytest.raises(HttpError) as empty:
        events.insert(calendarId="primary", body=backwards).execute()
    assert empty.value.status_code == 400 and reason(empty.value) == "timeRangeEmpty"
    with pytest.raises(HttpError) as missing:
        events.get(calendarId="nope", eventId="abcde12345").execute()
    assert missing.value.status_code == 404 and reason(missing.value) == "notFound"


def test_pages_and_sync_tokens_through_the_client(google):
    events = calendar(google).events()
    made = [
        events.insert(calendarId="primary", body=event(14, hour)).execute()["id"]
        for hour in (9, 10, 11)
    ]
    request = events.list(calendarId="primary", maxResults=2)
    pages = []
    while request is not None:  # the client follows nextPageToken
        answer = request.execute()
        pages.append(answer)
        request = events.list_next(request, answer)
    assert [[e["id"] for e in page["items"]] for page in pages] == [made[:2], made[2:]]
    token = pages[-1]["nextSyncToken"]

    added = events.insert(calendarId="primary", body=event(15, 9)).execute()["id"]
    events.delete(calendarId="primary", eventId=made[0]).execute()
    changed = events.list(calendarId="primary", syncToken=token).execute()
    assert [(e["id"], e["status"]) for e in changed["items"]] == [
        (added, "confirmed"),
        (made[0], "cancelled"),
    ]
    google.expire_sync_tokens()
    with pytest.raises(HttpError) as expired:
        events.list(calendarId="primary", syncToken=changed["nextSyncToken"]).execute()
    assert expired.value.status_code == 410 and reason(expired.value) == "fullSyncRequired"


def test_the_client_reads_a_rate_limit_as_googles_and_retries_it(google):
    events = calendar(google).events()
    google.rate_limit_next("userRateLimitExceeded")
    with pytest.raises(HttpError) as limited:
        events.list(calendarId="primary").execute()
    assert limited.value.status_code == 403 and reason(limited.value) == "userRateLimitExceeded"
    google.rate_limit_next("rateLimitExceeded")
    request = events.list(calendarId="primary")
    request._sleep = lambda seconds: None  # its backoff, not waited out here
    assert request.execute(num_retries=1)["items"] == []  # retried: the reason was readable
    assert len(google.calls("GET", path="calendars/primary/events")) == 3


def test_a_watch_channel_gets_googles_push_notifications_until_stopped(google):
    api = calendar(google)
    with LoopbackReceiver() as hub:
        body = {
            "id": secrets.token_hex(16),
            "type": "web_hook",
            "address": f"{hub.url}/api/integrations/gcal/notify",
            "token": "channel-token",
        }
        channel = api.events().watch(calendarId="primary", body=body).execute()
        assert channel["kind"] == "api#channel" and channel["id"] == body["id"]
        assert channel["resourceId"] and int(channel["expiration"]) > 0

        (sync,) = hub.wait_for(1)
        assert sync.method == "POST" and sync.path == "/api/integrations/gcal/notify"
        assert sync.body == b""
        assert sync.headers["X-Goog-Channel-ID"] == body["id"]
        assert sync.headers["X-Goog-Channel-Token"] == "channel-token"
        assert sync.headers["X-Goog-Resource-ID"] == channel["resourceId"]
        assert sync.headers["X-Goog-Resource-State"] == "sync"
        assert sync.headers["X-Goog-Message-Number"] == "1"

        api.events().insert(calendarId="primary", body=event(16, 9)).execute()
        _, exists = hub.wait_for(2)
        assert exists.headers["X-Goog-Resource-State"] == "exists"
        assert exists.headers["X-Goog-Message-Number"] == "2"
        assert "calendars/primary/events" in exists.headers["X-Goog-Resource-URI"]

        stop = {"id": channel["id"], "resourceId": channel["resourceId"]}
        assert api.channels().stop(body=stop).execute() == ""
        api.events().insert(calendarId="primary", body=event(16, 10)).execute()
        google.pusher.wait()
        assert len(hub.received) == 2  # a stopped channel hears nothing more
        with pytest.raises(HttpError) as unknown:
            api.channels().stop(body={**stop, "resourceId": "other"}).execute()
        assert unknown.value.status_code == 404
