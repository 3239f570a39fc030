"""Slack's v0 request signatures, against the example in Slack's documentation."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from mycelium_slack.signature import verify, verify_request
from slack_sdk.signature import SignatureVerifier

from hub import InvalidSignature

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
TIMESTAMP = "1531420618"
BODY = (
    b"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow"
    b"&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner"
    b"&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands"
    b"%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN"
    b"&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
)
EXPECTED = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"
THEN = datetime.fromtimestamp(int(TIMESTAMP), UTC)


def at(seconds_later: int) -> datetime:
    return datetime.fromtimestamp(int(TIMESTAMP) + seconds_later, UTC)


def test_slacks_published_example_verifies():
    verify(SECRET, TIMESTAMP, EXPECTED, BODY, now=THEN)


def test_the_example_agrees_with_slack_sdk():
    class Clock:
        def now(self) -> float:
            return float(TIMESTAMP)

    verifier = SignatureVerifier(SECRET, clock=Clock())
    assert verifier.generate_signature(timestamp=TIMESTAMP, body=BODY) == EXPECTED
    assert verifier.is_valid(BODY, TIMESTAMP, EXPECTED)


def test_headers_are_read_from_the_request():
    headers = {"X-Slack-Request-Timestamp": TIMESTAMP, "X-Slack-Signature": EXPECTED}
    verify_request(SECRET, headers, BODY, now=THEN)


def test_within_five_minutes_either_way_is_accepted():
    verify(SECRET, TIMESTAMP, EXPECTED, BODY, now=at(300))
    verify(SECRET, TIMESTAMP, EXPECTED, BODY, now=at(-300))


def test_stale_request_is_refused():
    with pytest.raises(InvalidSignature, match="too old"):
        verify(SECRET, TIMESTAMP, EXPECTED, BODY, now=at(301))


def test_request_from_the_future_is_refused():
    with pytest.raises(InvalidSignature, match="future"):
        verify(SECRET, TIMESTAMP, EXPECTED, BODY, now=at(-301))


@pytest.mark.parametrize(
    ("timestamp", "signature"),
    [(None, EXPECTED), ("", EXPECTED), (TIMESTAMP, None), (TIMESTAMP, ""), (None, None)],
)
def test_missing_signature_or_timestamp_is_refused(timestamp, signature):
    with pytest.raises(InvalidSignature):
        verify(SECRET, timestamp, signature, BODY, now=THEN)


@pytest.mark.parametrize(
    "body",
    [
        BODY + b"------",
        BODY.replace(b"user_id=U2CERLKJA", b"user_id=U2CERLKJB"),
        BODY.replace(b"text=", b"text=complete+1"),
    ],
)
def test_tampered_body_is_refused(body):
    with pytest.raises(InvalidSignature, match="No signature matches"):
        verify(SECRET, TIMESTAMP, EXPECTED, body, now=THEN)


@pytest.mark.parametrize(
    "signature",
    [
        EXPECTED.upper(),
        EXPECTED[:-1] + "0",
        EXPECTED.removeprefix("v0="),
        "v1=" + EXPECTED.removeprefix("v0="),
        "v0=ü" + EXPECTED[4:],
    ],
)
def test_wrong_signature_is_refused(signature):
    with pytest.raises(InvalidSignature):
        verify(SECRET, TIMESTAMP, signature, BODY, now=THEN)


def test_another_secret_does_not_verify():
    with pytest.raises(InvalidSignature):
        verify(SECRET[:-1] + "6", TIMESTAMP, EXPECTED, BODY, now=THEN)


@pytest.mark.parametrize("timestamp", ["1531420618.5", "-1531420618", " 1531420618", "abc", "١٢"])
def test_malformed_timestamp_is_refused(timestamp):
    with pytest.raises(InvalidSignature):
        verify(SECRET, timestamp, EXPECTED, BODY, now=THEN)


def test_no_signing_secret_refuses_everything():
    with pytest.raises(InvalidSignature, match="SLACK_SIGNING_SECRET"):
        verify(None, TIMESTAMP, EXPECTED, BODY, now=THEN)


def test_refusal_is_a_401():
    with pytest.raises(InvalidSignature) as caught:
        verify(SECRET, TIMESTAMP, "v0=00", BODY, now=THEN)
    assert caught.value.status == 401
