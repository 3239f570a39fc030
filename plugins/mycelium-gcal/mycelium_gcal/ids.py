"""Event ids Google accepts: base32hex (``0-9a-v``), 5 to 1024 characters.

A deadline's id is derived from (organization, deliverable), so a retried run, two workers
or a re-sync address the same event and can never make a second one. A meeting's id is
random, chosen once when the meeting is recorded and kept on its row for every retry.
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets

VALID = re.compile(r"^[a-v0-9]{5,1024}$")


def _base32hex(raw: bytes) -> str:
    return base64.b32hexencode(raw).decode("ascii").lower().rstrip("=")


def deadline_event_id(org_id: int, deliverable_id: int) -> str:
    """The one event id of a deliverable's deadline (52 characters)."""
    key = f"mycelium-hub:deadline:{org_id}:{deliverable_id}".encode()
    return _base32hex(hashlib.sha256(key).digest())


def new_meeting_event_id() -> str:
    """A fresh id for a meeting's event (26 characters, 128 random bits)."""
    return _base32hex(secrets.token_bytes(16))
