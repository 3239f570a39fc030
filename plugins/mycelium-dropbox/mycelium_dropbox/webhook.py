"""Dropbox's webhook: ``X-Dropbox-Signature`` is the hex HMAC-SHA256 of the raw body with
the app secret; the body lists the accounts that changed."""

from __future__ import annotations

import json
from typing import Any

from flask import current_app

from hub import InvalidSignature, verify_hmac_signature

MAX_ACCOUNTS = 1000


def verify(body: bytes, signature: str | None) -> None:
    """Raises InvalidSignature (401) unless `signature` signs `body` (constant-time)."""
    secret = current_app.config.get("DROPBOX_CLIENT_SECRET")
    if not secret:
        raise InvalidSignature("DROPBOX_CLIENT_SECRET is not set: no signature can match.")
    verify_hmac_signature(str(secret), body, signature, tolerance=None)


def accounts(body: bytes) -> list[str]:
    """The account ids of ``list_folder.accounts`` (at most MAX_ACCOUNTS, text only)."""
    try:
        data: Any = json.loads(body)
    except ValueError:
        return []
    listed = (data.get("list_folder") or {}).get("accounts") if isinstance(data, dict) else None
    if not isinstance(listed, list):
        return []
    return [a for a in listed[:MAX_ACCOUNTS] if isinstance(a, str) and 0 < len(a) <= 255]
