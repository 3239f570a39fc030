"""client.py against Slack's documented answers (requests-mock: unit tests of the client)."""

from __future__ import annotations

import pytest
import requests
import requests_mock as rm
from mycelium_slack.client import SlackClient, SlackError, post_webhook

from hub import NeedsReauth, PermanentError, RateLimited

BASE = "https://slack.test/api"
HOOK = "https://hooks.slack.test/services/T1/B1/XYZ"


@pytest.fixture
def mock():
    with rm.Mocker() as m:
        yield m


@pytest.fixture
def slack():
    return SlackClient(requests.Session(), BASE + "/", "xoxb-token", timeout=5)


def member(uid, email=None, **flags):
    return {
        "id": uid,
        "name": uid.lower(),
        "real_name": f"Person {uid}",
        "profile": {"email": email} if email else {},
        **flags,
    }


def test_post_message_sends_json_with_the_bot_token(mock, slack):
    mock.post(f"{BASE}/chat.postMessage", json={"ok": True, "channel": "C1", "ts": "1.2"})
    answer = slack.post_message("#general", {"text": "hi", "blocks": []})
    assert answer["ts"] == "1.2"
    sent = mock.last_request
    assert sent.headers["Authorization"] == "Bearer xoxb-token"
    assert sent.headers["Content-Type"].startswith("application/json")
    assert sent.json() == {"channel": "#general", "text": "hi", "blocks": []}
    assert sent.timeout == 5


@pytest.mark.parametrize("error", ["channel_not_found", "channel_is_archived", "is_archived"])
def test_channel_errors_are_permanent_and_name_the_channel(mock, slack, error):
    mock.post(f"{BASE}/chat.postMessage", json={"ok": False, "error": error})
    with pytest.raises(PermanentError) as caught:
        slack.post_message("#launches", {"text": "x"})
    assert "#launches" in caught.value.message
    assert caught.value.details == {"slack_error": error, "channel": "#launches"}


@pytest.mark.parametrize(
    "error", ["invalid_auth", "account_inactive", "token_revoked", "not_authed", "missing_scope"]
)
def test_credential_errors_need_reauth(mock, slack, error):
    mock.post(f"{BASE}/chat.postMessage", json={"ok": False, "error": error})
    with pytest.raises(NeedsReauth, match=error):
        slack.post_message("C1", {"text": "x"})


def test_429_is_rate_limited_for_retry_after_seconds(mock, slack):
    mock.post(
        f"{BASE}/chat.postMessage",
        status_code=429,
        headers={"Retry-After": "7"},
        json={"ok": False, "error": "ratelimited"},
    )
    with pytest.raises(RateLimited) as caught:
        slack.post_message("C1", {"text": "x"})
    assert caught.value.retry_after == 7


def test_429_without_a_usable_retry_after_waits_a_minute(mock, slack):
    mock.post(f"{BASE}/auth.test", status_code=429, headers={"Retry-After": "soon"})
    with pytest.raises(RateLimited) as caught:
        slack.auth_test()
    assert caught.value.retry_after == 60


@pytest.mark.parametrize(
    "answer",
    [
        {"status_code": 503, "text": "upstream down"},
        {"status_code": 200, "text": "<html>not json</html>"},
        {"status_code": 200, "json": ["not", "an", "object"]},
        {"status_code": 200, "json": {"ok": False, "error": "internal_error"}},
    ],
)
def test_server_trouble_is_retryable(mock, slack, answer):
    mock.post(f"{BASE}/chat.postMessage", **answer)
    with pytest.raises(SlackError):
        slack.post_message("C1", {"text": "x"})


def test_unknown_refusal_is_permanent_with_slacks_code(mock, slack):
    mock.post(f"{BASE}/chat.postMessage", json={"ok": False, "error": "invalid_blocks"})
    with pytest.raises(PermanentError, match="invalid_blocks"):
        slack.post_message("C1", {"text": "x"})


def test_auth_test_returns_the_team(mock, slack):
    mock.post(f"{BASE}/auth.test", json={"ok": True, "team": "Acme", "team_id": "T1"})
    assert slack.auth_test()["team_id"] == "T1"


def test_people_follows_cursors_and_skips_bots_deleted_and_slackbot(mock, slack):
    pages = [
        {
            "ok": True,
            "members": [member("U1", "a@x.io"), member("B1", is_bot=True)],
            "response_metadata": {"next_cursor": "c2"},
        },
        {
            "ok": True,
            "members": [member("USLACKBOT"), member("U2", "b@x.io", deleted=True)],
            "response_metadata": {"next_cursor": "c3"},
        },
        {"ok": True, "members": [member("U3")], "response_metadata": {"next_cursor": ""}},
    ]
    mock.get(f"{BASE}/users.list", [{"json": page} for page in pages])
    people = list(slack.people(page_size=2))
    assert [(p.id, p.email) for p in people] == [("U1", "a@x.io"), ("U3", None)]
    cursors = [r.qs.get("cursor") for r in mock.request_history]
    assert cursors == [None, ["c2"], ["c3"]]
    assert all(r.qs["limit"] == ["2"] for r in mock.request_history)


def test_people_stops_when_the_cursor_is_missing(mock, slack):
    mock.get(f"{BASE}/users.list", json={"ok": True, "members": [member("U1")]})
    assert [p.id for p in slack.people()] == ["U1"]
    assert mock.call_count == 1


def test_people_error_mid_way_raises(mock, slack):
    mock.get(
        f"{BASE}/users.list",
        [
            {"json": {"ok": True, "members": [], "response_metadata": {"next_cursor": "c2"}}},
            {"json": {"ok": False, "error": "invalid_cursor"}},
        ],
    )
    with pytest.raises(PermanentError, match="invalid_cursor"):
        list(slack.people())


def test_lookup_by_email(mock, slack):
    mock.get(f"{BASE}/users.lookupByEmail", json={"ok": True, "user": member("U9", "c@x.io")})
    found = slack.lookup_by_email("c@x.io")
    assert found is not None and found.id == "U9" and found.email == "c@x.io"
    assert mock.last_request.qs["email"] == ["c@x.io"]


def test_lookup_by_email_not_found_is_none(mock, slack):
    mock.get(f"{BASE}/users.lookupByEmail", json={"ok": False, "error": "users_not_found"})
    assert slack.lookup_by_email("nobody@x.io") is None


def test_lookup_by_email_of_a_bot_is_none(mock, slack):
    mock.get(f"{BASE}/users.lookupByEmail", json={"ok": True, "user": member("B1", is_bot=True)})
    assert slack.lookup_by_email("bot@x.io") is None


def test_webhook_ok(mock):
    mock.post(HOOK, text="ok", headers={"Content-Type": "text/plain"})
    post_webhook(requests.Session(), HOOK, {"text": "hi"}, "#general", timeout=5)
    assert mock.last_request.json() == {"text": "hi"}


@pytest.mark.parametrize(
    ("status", "body"), [(404, "channel_not_found"), (410, "channel_is_archived")]
)
def test_webhook_channel_gone_is_permanent(mock, status, body):
    mock.post(HOOK, status_code=status, text=body)
    with pytest.raises(PermanentError, match="#general"):
        post_webhook(requests.Session(), HOOK, {"text": "hi"}, "#general", timeout=5)


@pytest.mark.parametrize(("status", "body"), [(403, "invalid_token"), (404, "no_service")])
def test_webhook_revoked_needs_reauth(mock, status, body):
    mock.post(HOOK, status_code=status, text=body)
    with pytest.raises(NeedsReauth):
        post_webhook(requests.Session(), HOOK, {"text": "hi"}, "#general", timeout=5)


def test_webhook_bad_payload_is_permanent(mock):
    mock.post(HOOK, status_code=400, text="invalid_blocks")
    with pytest.raises(PermanentError, match="invalid_blocks"):
        post_webhook(requests.Session(), HOOK, {"text": "hi"}, None, timeout=5)


def test_webhook_429_and_500(mock):
    mock.post(HOOK, [{"status_code": 429, "headers": {"Retry-After": "3"}}, {"status_code": 500}])
    with pytest.raises(RateLimited) as caught:
        post_webhook(requests.Session(), HOOK, {"text": "hi"}, None, timeout=5)
    assert caught.value.retry_after == 3
    with pytest.raises(SlackError):
        post_webhook(requests.Session(), HOOK, {"text": "hi"}, None, timeout=5)
