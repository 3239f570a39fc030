"""The hub's one clock, so tests and schedules can control time."""

from __future__ import annotations

from datetime import UTC, datetime

_frozen: datetime | None = None


def now() -> datetime:
    """The current time, timezone-aware UTC."""
    return _frozen if _frozen is not None else datetime.now(UTC)


def set_now(value: datetime | None) -> None:
    """Freeze the clock at `value` (None lets it run again)."""
    global _frozen
    _frozen = value.astimezone(UTC) if value is not None else None
