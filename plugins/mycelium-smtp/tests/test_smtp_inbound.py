"""The webhook verifiers on their own: SendGrid's published example (the test vector of
SendGrid's own Python library: its key, signature, timestamp and payload), then tampered,
re-keyed and stale variants; Mailgun's HMAC scheme; Postmark's basic auth."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest
from mycelium_smtp import inbound

from hub import InvalidSignature
from hub.testing import FrozenClock

# SendGrid's published Signed Event Webhook example
SG_KEY = (
    "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE83T4O/n84iotIvIW4mdBgQ/7dAfSmpqIM8kF9mN1flpVKS3GRqe62gw"
    "+2fNNRaINXvVpiglSI8eNEc6wEA3F+g=="
)
SG_OTHER_KEY = (
    "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEqTxd43gyp8IOEto2LdIfjRQrIbsd4SXZkLW6jDutdhXSJCWHw8REn"
    "tlo7aNDthvj+y7GjUuFDb/R1NGe1OPzpA=="
)
SG_SIGNATURE = (
    "MEUCIGHQVtGj+Y3LkG9fLcxf3qfI10QysgDWmMOVmxG0u6ZUAiEAyBiXDWzM+uOe5W0JuG+luQAbPIqHh89M15T"
    "luLtEZtM="
)
SG_TIMESTAMP = "1600112502"
SG_PAYLOAD = (
    json.dumps(
        [
            {
                "email": "hello@world.com",
                "event": "dropped",
                "reason": "Bounced Address",
                "sg_event_id": "ZHJvcC0xMDk5NDkxOS1MUnpYbF9OSFN0T0doUTRrb2ZTbV9BLTA",
                "sg_message_id": "LRzXl_NHStOGhQ4kofSm_A.filterdrecv-p3mdw1-756b745b58-kmzbl-18-"
                "5F5FC76C-9.0",
                "smtp-id": "<LRzXl_NHStOGhQ4kofSm_A@ismtpd0039p1iad1.sendgrid.net>",
                "timestamp": 1600112492,
            }
        ],
        sort_keys=True,
        separators=(",", ":"),
    )
    + "\r\n"
).encode()


@pytest.fixture
def at_the_example(hub_clock: FrozenClock) -> FrozenClock:
    hub_clock.set(datetime.fromtimestamp(int(SG_TIMESTAMP), UTC))
    return hub_clock


def test_sendgrid_published_example_verifies(at_the_example: FrozenClock) -> None:
    inbound.verify_sendgrid(SG_KEY, SG_PAYLOAD, SG_SIGNATURE, SG_TIMESTAMP)
    # a dropped event is not one the hub reports
    assert inbound.sendgrid_reports(json.loads(SG_PAYLOAD)) == []


@pytest.mark.parametrize(
    ("key", "body", "signature", "timestamp"),
    [
        (SG_OTHER_KEY, SG_PAYLOAD, SG_SIGNATURE, SG_TIMESTAMP),  # another account's key
        (SG_KEY, b"payload", SG_SIGNATURE, SG_TIMESTAMP),  # tampered body
        (SG_KEY, SG_PAYLOAD.replace(b"\r\n", b""), SG_SIGNATURE, SG_TIMESTAMP),
        (SG_KEY, SG_PAYLOAD, SG_SIGNATURE[:-8] + "AAAAAAA=", SG_TIMESTAMP),  # tampered sig
        (SG_KEY, SG_PAYLOAD, SG_SIGNATURE, "timestamp"),
        (SG_KEY, SG_PAYLOAD, SG_SIGNATURE, str(int(SG_TIMESTAMP) + 1)),  # signed another time
        (SG_KEY, SG_PAYLOAD, None, SG_TIMESTAMP),
        ("not a key", SG_PAYLOAD, SG_SIGNATURE, SG_TIMESTAMP),
    ],
)
def test_sendgrid_variants_of_the_example_are_refused(
    at_the_example: FrozenClock, key: str, body: bytes, signature: str | None, timestamp: str
) -> None:
    with pytest.raises(InvalidSignature):
        inbound.verify_sendgrid(key, body, signature, timestamp)


def test_sendgrid_example_goes_stale_after_five_minutes(at_the_example: FrozenClock) -> None:
    at_the_example.advance(seconds=300)
    inbound.verify_sendgrid(SG_KEY, SG_PAYLOAD, SG_SIGNATURE, SG_TIMESTAMP)
    at_the_example.advance(seconds=1)
    with pytest.raises(InvalidSignature, match="window"):
        inbound.verify_sendgrid(SG_KEY, SG_PAYLOAD, SG_SIGNATURE, SG_TIMESTAMP)


def _mailgun(key: str, timestamp: str, token: str) -> bytes:
    digest = hmac.new(key.encode(), f"{timestamp}{token}".encode(), hashlib.sha256).hexdigest()
    signed = {"timestamp": timestamp, "token": token, "signature": digest}
    return json.dumps({"signature": signed, "event-data": {"event": "delivered"}}).encode()


def test_mailgun_signature(hub_clock: FrozenClock) -> None:
    now = str(int(hub_clock.now().timestamp()))
    data = inbound.verify_mailgun("signing-key", _mailgun("signing-key", now, "t" * 50))
    assert data["event-data"] == {"event": "delivered"}
    for body in (
        _mailgun("other-key", now, "t" * 50),
        _mailgun("signing-key", str(int(now) - 301), "t" * 50),
        _mailgun("signing-key", now, "t" * 50).replace(b"tttt", b"uuuu", 1),
        b'{"event-data": {}}',
        b"not json",
    ):
        with pytest.raises(InvalidSignature):
            inbound.verify_mailgun("signing-key", body)


def test_postmark_basic_auth() -> None:
    inbound.verify_postmark("pw", SimpleNamespace(username="hub", password="pw"))
    for given in (
        None,
        SimpleNamespace(username="hub", password="nope"),
        SimpleNamespace(username="x", password="pw"),
    ):
        with pytest.raises(InvalidSignature):
            inbound.verify_postmark("pw", given)
    with pytest.raises(InvalidSignature):  # no password set: nothing passes
        inbound.verify_postmark("", SimpleNamespace(username="hub", password=""))
