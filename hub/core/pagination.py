"""Cursor pagination: stable, opaque cursors over a unique, ordered key."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from sqlalchemy import Select
from sqlalchemy.orm import InstrumentedAttribute

from hub.core.db import AnySession
from hub.core.schemas import MAX_ID
from hub.errors import ValidationError


def encode_cursor(key: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"k": key}).encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        key = json.loads(base64.urlsafe_b64decode(padded.encode()))["k"]
    except (binascii.Error, ValueError, KeyError, TypeError, UnicodeDecodeError):
        key = None
    if not isinstance(key, int) or isinstance(key, bool) or not 0 < key <= MAX_ID:
        raise ValidationError("Invalid cursor.", {"cursor": ["Not a cursor from this API."]})
    return key


def paginate(
    session: AnySession,
    stmt: Select[Any],
    key: InstrumentedAttribute[int],
    limit: int,
    cursor: str | None,
    newest_first: bool = False,
) -> tuple[list[Any], str | None]:
    """One page of `stmt` ordered by `key`, and the cursor of the next page (None at the end)."""
    if cursor:
        after = decode_cursor(cursor)
        stmt = stmt.where(key < after if newest_first else key > after)
    stmt = stmt.order_by(key.desc() if newest_first else key.asc()).limit(limit + 1)
    rows = list(session.scalars(stmt).unique())
    if len(rows) <= limit:
        return rows, None
    rows = rows[:limit]
    return rows, encode_cursor(getattr(rows[-1], key.key))
