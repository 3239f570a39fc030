"""client.py against requests-mock: requests as Google takes them, errors as the hub's."""

from __future__ import annotations

from typing import Any

import pytest
import requests
import requests_mock
from mycelium_gcal.client import (
    CalendarClient,
    EventExists,
    EventMissing,
    FullSyncRequired,
    GoogleError,
)

from hub import NeedsReauth, PermanentError, RateLimited

BASE = "https://calendar.test/calendar/v3"
EVENTS = f"{BASE}/calendars/primary/events"


def google_error(status: int, reason: str, message: str, domain: str = "global") -> dict[str, Any]:
    item = {"domain": domain, "reason": reason, "message": message}
    return {
        "json": {"error": {"errors": [item], "code": status, "message": message}},
        "status_code": status,
    }


class Tokens:
    """A token source (``ctx.access_token``) that counts how often it was asked."""

    def __init__(self) -> None:
        self.asked = 0

    def __call__(self) -> str:
        self.asked += 1
        return "t1"


@pytest.fixture
def tokens() -> Tokens:
    return Tokens()


@pytest.fixture
def client(tokens: Tokens) -> CalendarClient:
    return CalendarClient(requests.Session(), BASE + "/", tokens, timeout=3)


def test_insert_sends_the_body_our_id_and_sendupdates(client: CalendarClient) -> None:
    with requests_mock.Mocker() as mock:
        mock.post(EVENTS, json={"id": "abcde12345", "status": "confirmed"})
        answer = client.insert_event("primary", {"id": "abcde12345", "summary": "x"}, "all")
    assert answer["id"] == "abcde12345"
    sent = mock.request_history[0]
    assert sent.json() == {"id": "abcde12345", "summary": "x"}
    assert sent.qs == {"sendupdates": ["all"]}
    assert sent.headers["Authorization"] == "Bearer t1" and sent.timeout == 3


def test_a_conference_request_asks_for_conference_data_version_1(client: CalendarClient) -> None:
    body = {"conferenceData": {"createRequest": {"requestId": "r1"}}}
    with requests_mock.Mocker() as mock:
        mock.post(EVENTS, json={"id": "x"})
        client.insert_event("primary", body)
    assert mock.request_history[0].qs["conferencedataversion"] == ["1"]


def test_calendar_ids_are_escaped_in_the_path(client: CalendarClient) -> None:
    with requests_mock.Mocker() as mock:
        mock.get(f"{BASE}/calendars/team%40group.calendar.google.com/events", json={"items": []})
        client.list_page("team@group.calendar.google.com", maxResults=1)
    assert mock.called


@pytest.mark.parametrize(
    ("status", "reason"),
    [(403, "rateLimitExceeded"), (403, "userRateLimitExceeded"), (429, "rateLimitExceeded")],
)
def test_rate_limits_of_both_kinds_are_waits_not_failures(client, status, reason) -> None:
    with requests_mock.Mocker() as mock:
        mock.post(EVENTS, **google_error(status, reason, "Rate Limit Exceeded", "usageLimits"))
        with pytest.raises(RateLimited) as raised:
            client.insert_event("primary", {"summary": "x"})
    assert raised.value.retry_after == 30.0


def test_a_retry_after_header_is_honoured(client: CalendarClient) -> None:
    with requests_mock.Mocker() as mock:
        answer = google_error(429, "rateLimitExceeded", "slow down")
        mock.get(EVENTS, headers={"Retry-After": "7"}, **answer)
        with pytest.raises(RateLimited) as raised:
            client.list_page("primary")
    assert raised.value.retry_after == 7.0


def test_the_daily_quota_waits_an_hour(client: CalendarClient) -> None:
    with requests_mock.Mocker() as mock:
        mock.get(EVENTS, **google_error(403, "quotaExceeded", "Calendar usage limits exceeded."))
        with pytest.raises(RateLimited) as raised:
            client.list_page("primary")
    assert raised.value.retry_after == 3600.0


def test_a_401_needs_reauth_without_a_second_try(client: CalendarClient, tokens: Tokens) -> None:
    """The hub's session (``ctx.http``) refreshed and retried already: a 401 here is final."""
    with requests_mock.Mocker() as mock:
        mock.get(EVENTS, **google_error(401, "authError", "Invalid Credentials"))
        with pytest.raises(NeedsReauth):
            client.list_page("primary")
    assert mock.call_count == 1 and tokens.asked == 1


@pytest.mark.parametrize(
    "failure", [requests.exceptions.ReadTimeout, requests.exceptions.ConnectionError]
)
def test_no_answer_is_a_retryable_google_error(client: CalendarClient, failure) -> None:
    with requests_mock.Mocker() as mock:
        mock.post(EVENTS, exc=failure)
        with pytest.raises(GoogleError, match="did not answer"):
            client.insert_event("primary", {"summary": "x"})


def test_a_missing_calendar_is_permanent_and_named(client: CalendarClient) -> None:
    with requests_mock.Mocker() as mock:
        mock.post(f"{BASE}/calendars/gone%40x/events", **google_error(404, "notFound", "Not Found"))
        with pytest.raises(PermanentError) as raised:
            client.insert_event("gone@x", {"summary": "x"})
    assert "'gone@x'" in raised.value.message and raised.value.details["calendar_id"] == "gone@x"


def test_no_write_access_is_permanent(client: CalendarClient) -> None:
    with requests_mock.Mocker() as mock:
        mock.post(EVENTS, **google_error(403, "requiredAccessLevel", "You need writer access"))
        with pytest.raises(PermanentError, match="may not write"):
            client.insert_event("primary", {"summary": "x"})


def test_a_taken_id_is_event_exists(client: CalendarClient) -> None:
    with requests_mock.Mocker() as mock:
        mock.post(
            EVENTS, **google_error(409, "duplicate", "The requested identifier already exists.")
        )
        with pytest.raises(EventExists):
            client.insert_event("primary", {"id": "abcde"})


def test_one_missing_event_is_event_missing_not_a_missing_calendar(client: CalendarClient) -> None:
    with requests_mock.Mocker() as mock:
        mock.patch(f"{EVENTS}/abcde", **google_error(404, "notFound", "Not Found"))
        with pytest.raises(EventMissing):
            client.patch_event("primary", "abcde", {"summary": "y"})


@pytest.mark.parametrize("status", [404, 410])
def test_deleting_what_is_gone_is_success(client: CalendarClient, status: int) -> None:
    with requests_mock.Mocker() as mock:
        mock.delete(
            f"{EVENTS}/abcde", **google_error(status, "deleted", "Resource has been deleted")
        )
        assert client.delete_event("primary", "abcde", "all") is False
        mock.delete(f"{EVENTS}/fghij", status_code=204)
        assert client.delete_event("primary", "fghij") is True
    assert mock.request_history[0].qs == {"sendupdates": ["all"]}


def test_an_expired_sync_token_asks_for_a_full_sync(client: CalendarClient) -> None:
    with requests_mock.Mocker() as mock:
        mock.get(EVENTS, **google_error(410, "fullSyncRequired", "Sync token is no longer valid"))
        with pytest.raises(FullSyncRequired):
            client.list_page("primary", syncToken="old")
    assert mock.request_history[0].qs["synctoken"] == ["old"]


def test_list_all_follows_pages_to_the_sync_token(client: CalendarClient) -> None:
    with requests_mock.Mocker() as mock:
        mock.get(
            EVENTS,
            [
                {"json": {"items": [{"id": "a"}], "nextPageToken": "p2"}},
                {"json": {"items": [{"id": "b"}], "nextSyncToken": "s1"}},
            ],
        )
        pages = list(client.list_all("primary", syncToken="s0"))
    assert [p["items"][0]["id"] for p in pages] == ["a", "b"] and pages[-1]["nextSyncToken"] == "s1"
    assert mock.request_history[1].qs["pagetoken"] == ["p2"]


def test_server_errors_and_broken_answers_are_retryable(client: CalendarClient) -> None:
    with requests_mock.Mocker() as mock:
        mock.get(EVENTS, status_code=503, text="unavailable")
        with pytest.raises(GoogleError):
            client.list_page("primary")
        mock.get(EVENTS, status_code=200, text="<html>")
        with pytest.raises(GoogleError):
            client.list_page("primary")


def test_watch_and_stop(client: CalendarClient) -> None:
    channel = {"id": "c1", "type": "web_hook", "address": "https://hub/n", "token": "s"}
    with requests_mock.Mocker() as mock:
        mock.post(f"{EVENTS}/watch", json={"id": "c1", "resourceId": "r1", "expiration": "1"})
        assert client.watch("primary", channel)["resourceId"] == "r1"
        mock.post(f"{BASE}/channels/stop", status_code=204)
        assert client.stop_channel("c1", "r1") is True
        mock.post(f"{BASE}/channels/stop", **google_error(404, "notFound", "Channel not found"))
        assert client.stop_channel("c1", "r1") is False
    assert mock.request_history[1].json() == {"id": "c1", "resourceId": "r1"}
