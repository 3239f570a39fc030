"""Zapier deliveries retry on the outgoing webhooks' rules: the hub's one retry policy.

``HUB_WEBHOOK_RETRY_SCHEDULE`` (0, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h) with +-20%
jitter; after a 429 or a timeout at least 60 s; a ``Retry-After`` honoured but clamped to
[d, 2d]; a subscription that has only failed for ``HUB_WEBHOOK_DISABLE_AFTER`` is disabled.
"""

from __future__ import annotations

from hub import WEBHOOK_RETRY_SCHEDULE as DEFAULT_SCHEDULE
from hub import RetryPolicy as Policy
from hub import parse_retry_after

__all__ = ["DEFAULT_SCHEDULE", "Policy", "parse_retry_after"]
