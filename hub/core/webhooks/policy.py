"""When a failed webhook delivery is tried again, and when an endpoint is given up on.

The other two policies: runs in ``hub/core/runs/policy.py``, emails in the email plugin's
send queue; all three in docs/architecture.md, "Failure policies". The
schedule: 0, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h with +-20% jitter; after a 429 or a
timeout at least 60 s; a ``Retry-After`` honoured but clamped to [d, 2d] of the delay d;
disabled after 5 days of nothing but failures, or at once on 410.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

DEFAULT_SCHEDULE: tuple[int, ...] = (0, 5, 300, 1800, 7200, 18000, 36000, 36000)
"""Seconds before each attempt of a webhook delivery (+-20% jitter), unless
``HUB_WEBHOOK_RETRY_SCHEDULE`` says otherwise."""
JITTER = 0.2
OVERLOAD_FLOOR_SECONDS = 60.0
MAX_RETRY_AFTER_SECONDS = 7 * 24 * 3600.0


@dataclass(frozen=True)
class Policy:
    """The delivery rules; settings may change the numbers, not the shape."""

    schedule: tuple[int, ...] = DEFAULT_SCHEDULE
    disable_after: timedelta = timedelta(days=5)

    @classmethod
    def from_settings(cls, setting: Callable[[str], Any]) -> Policy:
        """The policy from ``HUB_WEBHOOK_RETRY_SCHEDULE`` / ``_DISABLE_AFTER`` (or defaults)."""
        schedule = setting("HUB_WEBHOOK_RETRY_SCHEDULE") or DEFAULT_SCHEDULE
        disable_after = setting("HUB_WEBHOOK_DISABLE_AFTER") or cls.disable_after.total_seconds()
        return cls(tuple(int(s) for s in schedule), timedelta(seconds=float(disable_after)))

    @property
    def max_attempts(self) -> int:
        return len(self.schedule)

    def retry_delay(
        self,
        attempts: int,
        *,
        overloaded: bool = False,
        retry_after: float | None = None,
        rng: random.Random | None = None,
    ) -> float | None:
        """Seconds to wait after the `attempts`-th failed attempt; None once they are spent.

        ``overloaded``: the attempt got a 429 or timed out.
        """
        if attempts >= self.max_attempts:
            return None
        delay = self.schedule[attempts] * (rng or random).uniform(1 - JITTER, 1 + JITTER)
        if overloaded:
            delay = max(delay, OVERLOAD_FLOOR_SECONDS)
        if retry_after is not None:
            delay = min(max(retry_after, delay), 2 * delay)
        return delay

    def should_disable(self, failing_since: datetime | None, now: datetime) -> bool:
        """True once an endpoint has failed, and only failed, for `disable_after`."""
        return failing_since is not None and now - failing_since >= self.disable_after


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """A ``Retry-After`` header (seconds or an HTTP date) as seconds from `now`; None if absent."""
    if not value:
        return None
    text = value.strip()
    if text.isascii() and text.isdigit():
        return min(float(text), MAX_RETRY_AFTER_SECONDS)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return min(max(0.0, (when - now).total_seconds()), MAX_RETRY_AFTER_SECONDS)
