"""The one signature helper: Standard Webhooks vectors, behaviour, interop, inbound HMAC schemes."""

from __future__ import annotations

import base64
import time
from datetime import UTC, datetime, timedelta

import pytest
import standardwebhooks

import hub
from hub.core.signatures import (
    InvalidSignature,
    decode_webhook_secret,
    generate_webhook_secret,
    sign_webhook,
    verify_hmac_signature,
    verify_webhook,
)
from hub.core.webhooks.delivery import Target, signature

SW1 = {
    "secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
    "msg_id": "msg_p5jXN8AQM9LWM0D4loKWxJek",
    "timestamp": 1614265330,
    "body": '{"test": 2432232314}',
    "expected": "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
}
SW1_AT = datetime.fromtimestamp(SW1["timestamp"], UTC)


def sw1_headers(signature: str | None = None, **overrides: str) -> dict[str, str]:
    headers = {
        "webhook-id": SW1["msg_id"],
        "webhook-timestamp": str(SW1["timestamp"]),
        "webhook-signature": signature or SW1["expected"],
    }
    headers.update(overrides)
    return {k: v for k, v in headers.items() if v != "<drop>"}


@pytest.mark.parametrize(
    ("secret", "msg_id", "timestamp", "body", "expected"),
    [
        pytest.param(*SW1.values(), id="SW-1"),
        pytest.param(
            "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", *list(SW1.values())[1:], id="SW-1-no-prefix"
        ),
        pytest.param(
            "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD",
            "msg_27UH4WbU6Z5A5EzD8u03UvzRbpk",
            1649367553,
            '{"email":"test@example.com","username":"test_user"}',
            "v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw=",
            id="SW-2",
        ),
        pytest.param(
            "whsec_plJ3nmyCDGBKInavdOK15jsl",
            "msg_loFOjxBNrRLzqYUf",
            1731705121,
            '{"event_type":"ping","data":{"success":true}}',
            "v1,rAvfW3dJ/X/qxhsaXPOyyCGmRKsaKWcsNccKXlIktD0=",
            id="SVIX-DOC",
        ),
        pytest.param(
            "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaS",
            *list(SW1.values())[1:4],
            "v1,LVOXivKoo4FWasi/IaHvzhE/u+7/cu2AME+zS/nXqzk=",
            id="padding-1",
        ),
        pytest.param(
            "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSwBr",
            *list(SW1.values())[1:4],
            "v1,yK2tMbA6BHPrMEJ1lLv7UlJJbgFoqGenJkiajZ29evg=",
            id="padding-2",
        ),
    ],
)
def test_sign_matches_the_reference_vectors(secret, msg_id, timestamp, body, expected):
    assert sign_webhook(secret, msg_id, timestamp, body) == expected
    assert sign_webhook(secret, msg_id, timestamp, body.encode()) == expected
    at = datetime.fromtimestamp(timestamp, UTC)
    headers = {"webhook-id": msg_id, "webhook-timestamp": str(timestamp)}
    verify_webhook(secret, body, {**headers, "webhook-signature": expected}, now=at)
    # the pump signs with the secrets keyed once per claim: the same bytes
    keys = Target(1, "https://x.example/", [secret], True, None).keys
    assert signature(keys, msg_id, timestamp, body.encode()) == expected


def test_the_pumps_keyed_signature_is_sign_webhook_while_a_secret_rotates():
    secrets = [generate_webhook_secret(), generate_webhook_secret(64)]
    target = Target(1, "https://x.example/", secrets, True, None)
    for round_ in range(3):  # a keyed state is copied, never used up
        stamp = 1732761600 + round_
        expected = sign_webhook(secrets, "evt_1", stamp, b'{"a":1}')
        assert signature(target.keys, "evt_1", stamp, b'{"a":1}') == expected
        assert len(expected.split(" ")) == 2
    with pytest.raises(ValueError):
        signature(target.keys, "evt.1", 1, b"")


def test_the_public_api_exports_the_helpers():
    assert hub.sign_webhook is sign_webhook
    assert hub.verify_webhook is verify_webhook
    assert hub.verify_hmac_signature is verify_hmac_signature
    assert hub.InvalidSignature is InvalidSignature


def test_a_tampered_signature_or_body_is_refused():
    bad = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OA="
    with pytest.raises(InvalidSignature):
        verify_webhook(SW1["secret"], SW1["body"], sw1_headers(bad), now=SW1_AT)
    with pytest.raises(InvalidSignature):
        verify_webhook(SW1["secret"], SW1["body"] + " ", sw1_headers(), now=SW1_AT)


def test_one_valid_entry_among_several_verifies():
    others = [
        "v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=",
        "v2,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=",
    ]
    header = " ".join([*others, SW1["expected"], others[0]])
    verify_webhook(SW1["secret"], SW1["body"], sw1_headers(header), now=SW1_AT)
    with pytest.raises(InvalidSignature):
        verify_webhook(SW1["secret"], SW1["body"], sw1_headers(" ".join(others)), now=SW1_AT)


def test_a_v1_signature_is_not_accepted_under_another_version():
    header = SW1["expected"].replace("v1,", "v2,")
    with pytest.raises(InvalidSignature):
        verify_webhook(SW1["secret"], SW1["body"], sw1_headers(header), now=SW1_AT)


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param(sw1_headers(**{"webhook-id": "<drop>"}), id="missing id"),
        pytest.param(sw1_headers(**{"webhook-timestamp": "<drop>"}), id="missing timestamp"),
        pytest.param(sw1_headers(**{"webhook-signature": "<drop>"}), id="missing signature"),
        pytest.param(sw1_headers(**{"webhook-timestamp": "hello"}), id="timestamp not numeric"),
        pytest.param(sw1_headers(**{"webhook-timestamp": "Infinity"}), id="timestamp infinity"),
        pytest.param(sw1_headers(**{"webhook-timestamp": "1614265330.0"}), id="timestamp float"),
        pytest.param(sw1_headers("v1,"), id="bare v1"),
        pytest.param(sw1_headers("garbage"), id="garbage"),
        pytest.param(sw1_headers("v1,not base64!"), id="v1 not base64"),
    ],
)
def test_malformed_headers_are_refused(headers):
    with pytest.raises(InvalidSignature):
        verify_webhook(SW1["secret"], SW1["body"], headers, now=SW1_AT)


def test_header_names_are_case_insensitive():
    headers = {k.upper(): v for k, v in sw1_headers().items()}
    verify_webhook(SW1["secret"], SW1["body"], headers, now=SW1_AT)


def test_the_tolerance_is_five_minutes_either_way():
    five = timedelta(minutes=5)
    for now in (SW1_AT + five, SW1_AT - five):
        verify_webhook(SW1["secret"], SW1["body"], sw1_headers(), now=now)
    one = timedelta(seconds=1)
    for now in (SW1_AT + five + one, SW1_AT - five - one):
        with pytest.raises(InvalidSignature):
            verify_webhook(SW1["secret"], SW1["body"], sw1_headers(), now=now)


@pytest.mark.parametrize("secret", ["", "whsec_", "whsec_!!!!"])
def test_empty_or_malformed_secrets_are_refused(secret):
    with pytest.raises(ValueError):
        sign_webhook(secret, "msg_1", 1, b"{}")


def test_an_empty_payload_signs_and_verifies():
    now = int(time.time())
    signature = sign_webhook(SW1["secret"], "msg_1", now, b"")
    headers = {"webhook-id": "msg_1", "webhook-timestamp": str(now), "webhook-signature": signature}
    verify_webhook(SW1["secret"], b"", headers)


def test_ids_with_a_dot_are_refused():
    with pytest.raises(ValueError):
        sign_webhook(SW1["secret"], "msg.1", 1, b"{}")


def test_generated_secrets_are_24_to_64_random_bytes():
    secret = generate_webhook_secret()
    assert secret.startswith("whsec_")
    assert len(decode_webhook_secret(secret)) == 24
    assert len(decode_webhook_secret(generate_webhook_secret(64))) == 64
    assert generate_webhook_secret() != secret
    for size in (23, 65):
        with pytest.raises(ValueError):
            generate_webhook_secret(size)


def test_the_standardwebhooks_package_verifies_our_output():
    secret = generate_webhook_secret()
    body = '{"id":"evt_1","type":"client.created","data":{"name":"Ünïcode"}}'.encode()
    now = int(time.time())
    headers = {
        "webhook-id": "evt_1",
        "webhook-timestamp": str(now),
        "webhook-signature": sign_webhook(secret, "evt_1", now, body),
    }
    assert standardwebhooks.Webhook(secret).verify(body, headers)["data"]["name"] == "Ünïcode"
    headers["webhook-signature"] = sign_webhook(secret, "evt_2", now, body)
    with pytest.raises(standardwebhooks.WebhookVerificationError):
        standardwebhooks.Webhook(secret).verify(body, headers)


def test_rotation_signatures_verify_with_either_secret_in_the_package():
    old, new = generate_webhook_secret(), generate_webhook_secret(32)
    now = int(time.time())
    header = sign_webhook([new, old], "evt_1", now, b"{}")
    assert len(header.split(" ")) == 2
    headers = {"webhook-id": "evt_1", "webhook-timestamp": str(now), "webhook-signature": header}
    for secret in (old, new):
        standardwebhooks.Webhook(secret).verify(b"{}", headers)
    with pytest.raises(standardwebhooks.WebhookVerificationError):
        standardwebhooks.Webhook(generate_webhook_secret()).verify(b"{}", headers)


# ----- inbound HMAC schemes -----

SLACK_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
SLACK_TS = "1531420618"
SLACK_BODY = (
    b"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id="
    b"G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook"
    b"-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F3977"
    b"00885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d"
    b"2c447fce8b6703c"
)
SLACK_SIG = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"
SLACK_AT = datetime.fromtimestamp(int(SLACK_TS), UTC)


def slack(body: bytes = SLACK_BODY, signature: str | None = SLACK_SIG, **kw: object) -> None:
    options: dict[str, object] = {"base": "v0:{timestamp}:{body}", "prefix": "v0="}
    options.update({"timestamp": SLACK_TS, "now": SLACK_AT, **kw})
    verify_hmac_signature(SLACK_SECRET, body, signature, **options)  # type: ignore[arg-type]


def test_inbound_slack_scheme_vector():
    slack()


@pytest.mark.parametrize(
    "change",
    [
        {"body": SLACK_BODY + b"------"},
        {"signature": None},
        {"signature": ""},
        {"signature": SLACK_SIG.replace("v0=", "v1=")},
        {"timestamp": None},
        {"timestamp": "1531420619"},
        {"now": SLACK_AT + timedelta(seconds=301)},
        {"now": SLACK_AT - timedelta(seconds=301)},
    ],
    ids=["body", "no sig", "empty sig", "prefix", "no ts", "other ts", "stale", "future"],
)
def test_inbound_slack_scheme_refusals(change):
    with pytest.raises(InvalidSignature):
        slack(**change)


def test_inbound_scheme_without_timestamp_dropbox_vector():
    body = b'{"delta": {"users": [12345]}}'
    digest = "03e2b10a8ae0c663539b8fa2a30e2163eec28f656b1391b9498d12c266324190"
    verify_hmac_signature("ABC123", body, digest)
    with pytest.raises(InvalidSignature):
        verify_hmac_signature("ABC123", body + b" ", digest)


def test_inbound_scheme_with_prefix_github_vector():
    digest = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
    verify_hmac_signature("It's a Secret to Everybody", b"Hello, World!", digest, prefix="sha256=")


def test_inbound_scheme_base64_with_timestamp_and_several_candidates():
    body = b'{"event":"charge.success","amount":1000,"currency":"NGN"}'
    good = "d7i5Jp8loZmEalWivSWz+6FRxw/a5gux3Nh/u8lDxVw="
    options = {"base": "{timestamp},{body}", "encoding": "base64", "timestamp": "1700000000"}
    at = datetime.fromtimestamp(1700000000, UTC)
    verify_hmac_signature(
        "convoy-webhook-secret",
        body,
        ["bogus", good],
        now=at,
        **options,  # type: ignore[arg-type]
    )
    with pytest.raises(InvalidSignature):
        verify_hmac_signature(
            "convoy-webhook-secret",
            body,
            [good],
            now=at + timedelta(hours=1),
            **options,  # type: ignore[arg-type]
        )
    verify_hmac_signature(
        "convoy-webhook-secret",
        body,
        good,
        tolerance=None,
        **options,  # type: ignore[arg-type]
    )


def test_inbound_scheme_needs_a_unix_timestamp_when_the_base_has_one():
    body = b"{}"
    sig = base64.b64encode(b"x").decode()
    with pytest.raises(InvalidSignature):
        verify_hmac_signature("k", body, sig, base="{timestamp}.{body}", timestamp="Infinity")
