"""Delivery reports from the providers' event webhooks: verified, then read as the hub's
own events (``email.delivered``, ``email.bounced`` hard or soft, ``email.complained``,
``email.opened``).

Verification comes first, on the raw request, and nothing is read before it passes:

- SendGrid's signed Event Webhook: ECDSA P-256 with SHA-256 over the
  ``X-Twilio-Email-Event-Webhook-Timestamp`` value followed by the raw body; the signature
  (``X-Twilio-Email-Event-Webhook-Signature``) is base64 DER, the verification key the
  base64 DER public key SendGrid shows for the webhook.
- Mailgun: HMAC-SHA256, hex, keyed with the webhook signing key, over ``timestamp`` then
  ``token`` from the body's ``signature`` object (the only part read before it passes);
  a token is accepted once.
- Postmark: HTTP basic auth, the user ``hub`` and the password the admin set (Postmark's
  webhooks carry no signature and no timestamp).

Timestamps must be within ``TOLERANCE`` seconds of now.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature as BadEcdsa
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import load_der_public_key

from hub import InvalidSignature, now, verify_hmac_signature

TOLERANCE = 300
POSTMARK_USER = "hub"


@dataclass(frozen=True)
class Report:
    """One thing a provider says happened to an email it carried."""

    type: str  # email.delivered | email.bounced | email.complained | email.opened | ""
    address: str
    email_id: int | None
    at: int  # Unix seconds, as the provider gave it
    bounce: str | None = None  # hard | soft, for email.bounced
    detail: str = ""
    # a suppression reason the provider gave on its own (no event: type is then "")
    suppress: str | None = None


def _fresh(timestamp: str | None) -> None:
    try:
        age = abs(now().timestamp() - int(str(timestamp)))
    except ValueError:
        raise InvalidSignature("The timestamp is missing or not Unix seconds.") from None
    if age > TOLERANCE:
        raise InvalidSignature("The timestamp is outside the 5-minute window.")


def verify_sendgrid(key: str, body: bytes, signature: str | None, timestamp: str | None) -> None:
    """SendGrid's signed Event Webhook; InvalidSignature (401) unless it holds."""
    _fresh(timestamp)
    try:
        public = load_der_public_key(base64.b64decode(key))
        raw = base64.b64decode(signature or "", validate=True)
    except (ValueError, binascii.Error, TypeError):
        raise InvalidSignature("The signature or the verification key is malformed.") from None
    if not isinstance(public, ec.EllipticCurvePublicKey) or not raw:
        raise InvalidSignature("The verification key is not an ECDSA public key.")
    try:
        public.verify(raw, str(timestamp).encode() + body, ec.ECDSA(hashes.SHA256()))
    except BadEcdsa:
        raise InvalidSignature("The signature does not match.") from None


def verify_mailgun(key: str, body: bytes) -> dict[str, Any]:
    """Mailgun's signed webhook; its JSON once the signature holds (the token is returned
    in ``signature.token`` for the caller's replay check)."""
    try:
        data = json.loads(body)
        signed = data["signature"]
        timestamp, token, digest = signed["timestamp"], signed["token"], signed["signature"]
    except (ValueError, TypeError, KeyError):
        raise InvalidSignature("No Mailgun signature in the body.") from None
    verify_hmac_signature(
        key,
        str(token).encode(),
        str(digest),
        base="{timestamp}{body}",
        timestamp=str(timestamp),
        tolerance=TOLERANCE,
    )
    return dict(data)


def verify_postmark(password: str, authorization: Any) -> None:
    """Postmark's basic auth; InvalidSignature unless user and password match."""
    given = (
        (authorization.username or "", authorization.password or "") if authorization else ("", "")
    )
    ok_user = hmac.compare_digest(given[0].encode(), POSTMARK_USER.encode())
    ok_password = hmac.compare_digest(given[1].encode(), password.encode())
    if not (ok_user and ok_password) or not password:
        raise InvalidSignature("The webhook's credentials do not match.")


def _email_id(value: Any) -> int | None:
    text = str(value or "")
    return int(text) if text.isdigit() and 0 < int(text) < 2**31 else None


SENDGRID_TYPES = {
    "delivered": "email.delivered",
    "bounce": "email.bounced",
    "spamreport": "email.complained",
    "open": "email.opened",
}


def sendgrid_reports(events: Iterable[Any]) -> list[Report]:
    """SendGrid's array of events; a bounce of type ``blocked`` is soft, others hard."""
    reports = []
    for event in events:
        kind = SENDGRID_TYPES.get(str(event.get("event")))
        if kind is None:
            continue
        bounce = None
        if kind == "email.bounced":
            bounce = "soft" if event.get("type") == "blocked" else "hard"
        detail = str(event.get("reason") or event.get("response") or "")
        reports.append(
            Report(
                kind,
                str(event.get("email") or ""),
                _email_id(event.get("hub_email_id")),
                int(event.get("timestamp") or 0),
                bounce,
                detail[:500],
            )
        )
    return reports


MAILGUN_TYPES = {
    "delivered": "email.delivered",
    "failed": "email.bounced",
    "complained": "email.complained",
    "opened": "email.opened",
}


def mailgun_reports(data: dict[str, Any]) -> list[Report]:
    """Mailgun's one event: ``failed`` with severity ``permanent`` is a hard bounce."""
    event = data.get("event-data") or {}
    kind = MAILGUN_TYPES.get(str(event.get("event")))
    if kind is None:
        return []
    status = event.get("delivery-status") or {}
    bounce = None
    if kind == "email.bounced":
        bounce = "hard" if event.get("severity") == "permanent" else "soft"
    detail = (
        f"{status.get('code') or ''} {status.get('message') or status.get('description') or ''}"
    )
    variables = event.get("user-variables") or {}
    return [
        Report(
            kind,
            str(event.get("recipient") or ""),
            _email_id(variables.get("hub_email_id")),
            int(float(event.get("timestamp") or 0)),
            bounce,
            detail.strip()[:500],
        )
    ]


POSTMARK_TYPES = {
    "Delivery": "email.delivered",
    "Bounce": "email.bounced",
    "SpamComplaint": "email.complained",
    "Open": "email.opened",
}
# Bounce types after which Postmark deactivates the address (it refuses to send to it, the
# "inactive recipient" of its send API), by name and by TypeCode: each a hard bounce here
POSTMARK_HARD = {"HardBounce", "BadEmailAddress", "ManuallyDeactivated", "Blocked"}
POSTMARK_HARD_CODES = {1, 100000, 100002, 100006}
POSTMARK_COMPLAINT, POSTMARK_COMPLAINT_CODE = "SpamComplaint", 100001
# Subscription Change webhook: why Postmark put the address on its suppression list
POSTMARK_SUPPRESSION_REASONS = {
    "HardBounce": "hard_bounce",
    "SpamComplaint": "complaint",
    "ManualSuppression": "refused",
}


def _type_code(data: dict[str, Any]) -> int | None:
    code = data.get("TypeCode")
    return code if isinstance(code, int) and not isinstance(code, bool) else None


def postmark_reports(data: dict[str, Any]) -> list[Report]:
    """Postmark's one record. A bounce is hard when Postmark deactivated the address
    (``Inactive: true``) or its type is one it deactivates on; a bounce of type
    ``SpamComplaint`` is a complaint. A Subscription Change that suppresses sending puts
    the address on the list (``SuppressionReason``) without an event of its own: the
    bounce or complaint that caused it has one; a reactivation changes nothing here (the
    hub's list is lifted through its own API)."""
    if data.get("RecordType") == "SubscriptionChange":
        return _postmark_suppression(data)
    kind = POSTMARK_TYPES.get(str(data.get("RecordType")))
    if kind is None:
        return []
    bounce = None
    if kind == "email.bounced":
        code = _type_code(data)
        if data.get("Type") == POSTMARK_COMPLAINT or code == POSTMARK_COMPLAINT_CODE:
            kind = "email.complained"
        else:
            hard = data.get("Type") in POSTMARK_HARD or code in POSTMARK_HARD_CODES
            bounce = "hard" if hard or data.get("Inactive") is True else "soft"
    address = data.get("Email") or data.get("Recipient") or ""
    detail = str(data.get("Description") or data.get("Details") or data.get("Type") or "")
    metadata = data.get("Metadata") or {}
    return [
        Report(
            kind,
            str(address),
            _email_id(metadata.get("hub_email_id")),
            int(now().timestamp()),
            bounce,
            detail[:500],
        )
    ]


def _postmark_suppression(data: dict[str, Any]) -> list[Report]:
    reason = POSTMARK_SUPPRESSION_REASONS.get(str(data.get("SuppressionReason")))
    address = str(data.get("Recipient") or "")
    if data.get("SuppressSending") is not True or reason is None or not address:
        return []
    origin = str(data.get("Origin") or "")
    detail = f"Postmark suppressed the address: {data.get('SuppressionReason')}"
    detail += f" (origin: {origin})" if origin else ""
    metadata = data.get("Metadata") or {}
    email_id = _email_id(metadata.get("hub_email_id")) if isinstance(metadata, dict) else None
    at = int(now().timestamp())
    return [Report("", address, email_id, at, detail=detail[:500], suppress=reason)]
