"""Slack's request signing, scheme ``v0``: HMAC-SHA256 of ``v0:<timestamp>:<raw body>``.

Checked by the hub's one signature helper on the raw body, before anything parses it,
within 5 minutes of the hub's clock, with a constant-time compare.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from hub import InvalidSignature, verify_hmac_signature

MAX_AGE_SECONDS = 300
TIMESTAMP_HEADER = "X-Slack-Request-Timestamp"
SIGNATURE_HEADER = "X-Slack-Signature"


def verify(
    secret: str | None,
    timestamp: str | None,
    signature: str | None,
    body: bytes,
    now: datetime | None = None,
) -> None:
    """Raise :class:`hub.InvalidSignature` (401) unless Slack signed ``body`` recently."""
    if not secret:
        raise InvalidSignature("SLACK_SIGNING_SECRET is not set; Slack requests are refused.")
    if not signature:
        raise InvalidSignature("The request has no X-Slack-Signature header.")
    verify_hmac_signature(
        secret,
        body,
        signature,
        base="v0:{timestamp}:{body}",
        prefix="v0=",
        timestamp=timestamp or "",
        tolerance=MAX_AGE_SECONDS,
        now=now,
    )


def verify_request(
    secret: str | None, headers: Any, body: bytes, now: datetime | None = None
) -> None:
    """:func:`verify` with the timestamp and signature read from the request's headers
    (any mapping with ``get``; werkzeug's Headers ignore case)."""
    verify(secret, headers.get(TIMESTAMP_HEADER), headers.get(SIGNATURE_HEADER), body, now)
