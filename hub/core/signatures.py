"""The hub's one signature helper: Standard Webhooks for what we send, HMAC for what we receive.

Outgoing webhooks follow the Standard Webhooks specification (``v1,<base64 HMAC-SHA256 of
id.timestamp.body>``, ``whsec_`` secrets, space-separated signatures while a secret
rotates), so receivers verify them with the ``standardwebhooks`` package or Svix's
libraries. Inbound webhooks (a provider calling a plugin) use :func:`verify_hmac_signature`
with the provider's scheme given as data: the base string, a prefix, the encoding.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Literal

from hub.core import clock
from hub.errors import Unauthorized

SECRET_PREFIX = "whsec_"
MIN_SECRET_BYTES = 24
MAX_SECRET_BYTES = 64
TOLERANCE_SECONDS = 5 * 60


class InvalidSignature(Unauthorized):
    """The request's signature is missing, malformed, stale or does not match."""

    code = "invalid_signature"


def generate_webhook_secret(nbytes: int = MIN_SECRET_BYTES) -> str:
    """A new secret: ``whsec_`` + base64 of `nbytes` (24 to 64) random bytes."""
    if not MIN_SECRET_BYTES <= nbytes <= MAX_SECRET_BYTES:
        raise ValueError(f"a webhook secret has {MIN_SECRET_BYTES} to {MAX_SECRET_BYTES} bytes")
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(nbytes)).decode()


def decode_webhook_secret(secret: str) -> bytes:
    """The HMAC key of a ``whsec_`` secret; the prefix and the base64 padding are optional."""
    encoded = secret.removeprefix(SECRET_PREFIX)
    try:
        key = base64.b64decode(encoded + "==")  # extra padding is ignored, missing is added
    except (binascii.Error, ValueError):
        raise ValueError("a webhook secret is base64, optionally prefixed whsec_") from None
    if not key:
        raise ValueError("a webhook secret may not be empty")
    return key


def _as_bytes(value: str | bytes) -> bytes:
    return value.encode() if isinstance(value, str) else value


def _v1(key: bytes, msg_id: str, timestamp: int, body: bytes) -> str:
    content = f"{msg_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, content, hashlib.sha256).digest()).decode()


def sign_webhook(
    secret: str | Sequence[str], msg_id: str, timestamp: int, body: str | bytes
) -> str:
    """The ``webhook-signature`` header: one ``v1,`` entry per secret (several while rotating).

    `body` must be the exact bytes sent; `timestamp` is the attempt's Unix time in seconds.
    """
    if "." in msg_id:
        raise ValueError("a webhook id may not contain '.'")
    keys = [secret] if isinstance(secret, str) else list(secret)
    raw = _as_bytes(body)
    return " ".join(_v1(decode_webhook_secret(key), msg_id, timestamp, raw) for key in keys)


def _unix_seconds(value: str | int | None) -> int:
    text = str(value) if value is not None else ""
    if not text.isascii() or not text.isdigit():
        raise InvalidSignature("The signature timestamp is missing or not Unix seconds.")
    return int(text)


def check_timestamp(value: str | int | None, tolerance: int, now: datetime | None) -> int:
    """`value` as Unix seconds, refused when further than `tolerance` from now either way."""
    stamp = _unix_seconds(value)
    current = (now or clock.now()).timestamp()
    if stamp < current - tolerance:
        raise InvalidSignature("The signature timestamp is too old.")
    if stamp > current + tolerance:
        raise InvalidSignature("The signature timestamp is in the future.")
    return stamp


def _v1_entries(header: str) -> list[bytes]:
    found = []
    for entry in header.split(" "):
        version, _, encoded = entry.partition(",")
        if version != "v1" or not encoded:
            continue
        try:
            found.append(base64.b64decode(encoded, validate=True))
        except (binascii.Error, ValueError):
            continue
    return found


def verify_webhook(
    secret: str,
    body: str | bytes,
    headers: Mapping[str, str],
    *,
    tolerance: int = TOLERANCE_SECONDS,
    now: datetime | None = None,
) -> None:
    """Verify a Standard Webhooks request (headers in any case); InvalidSignature otherwise."""
    lowered = {name.lower(): value for name, value in headers.items()}
    msg_id = lowered.get("webhook-id")
    header = lowered.get("webhook-signature")
    if not msg_id or not header:
        raise InvalidSignature("The webhook-id or webhook-signature header is missing.")
    stamp = check_timestamp(lowered.get("webhook-timestamp"), tolerance, now)
    expected = base64.b64decode(sign_webhook(secret, msg_id, stamp, body).split(",", 1)[1])
    if not any(hmac.compare_digest(expected, given) for given in _v1_entries(header)):
        raise InvalidSignature("No signature matches.")


def _signed_content(template: str, body: bytes, timestamp: str | None) -> bytes:
    pieces = template.split("{body}")
    filled = [piece.replace("{timestamp}", timestamp or "").encode() for piece in pieces]
    return body.join(filled)


def _encode(digest: bytes, encoding: Literal["hex", "base64"]) -> str:
    return digest.hex() if encoding == "hex" else base64.b64encode(digest).decode()


def verify_hmac_signature(
    secret: str | bytes,
    body: bytes,
    signature: str | Iterable[str] | None,
    *,
    base: str = "{body}",
    timestamp: str | None = None,
    prefix: str = "",
    encoding: Literal["hex", "base64"] = "hex",
    algorithm: str = "sha256",
    tolerance: int | None = TOLERANCE_SECONDS,
    now: datetime | None = None,
) -> None:
    """Verify an inbound webhook signed with HMAC over a base string built on the raw body.

    ``base`` is the scheme's signed content with ``{body}`` (the raw bytes, never
    re-serialised) and ``{timestamp}`` placeholders; ``signature`` is the header value (or
    several candidates); ``prefix`` is what precedes the digest in it (``v0=``). When the
    scheme has a timestamp, pass it: it must be Unix seconds within ``tolerance`` of now.
    A v0 scheme: ``base="v0:{timestamp}:{body}", prefix="v0=", timestamp=<request timestamp>``.
    Raises :class:`InvalidSignature`; comparisons are constant-time.
    """
    if "{timestamp}" in base or timestamp is not None:
        if tolerance is not None:
            check_timestamp(timestamp, tolerance, now)
        else:
            _unix_seconds(timestamp)
    candidates = [signature] if isinstance(signature, str) else list(signature or [])
    mac = hmac.new(_as_bytes(secret), _signed_content(base, body, timestamp), algorithm)
    expected = (prefix + _encode(mac.digest(), encoding)).encode()
    if not any(hmac.compare_digest(expected, c.strip().encode()) for c in candidates if c):
        raise InvalidSignature("No signature matches.")
