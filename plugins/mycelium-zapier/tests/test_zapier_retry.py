"""The retry rules Zapier deliveries share with outgoing webhooks (docs/architecture.md,
"Failure policies")."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
from mycelium_zapier.retry import DEFAULT_SCHEDULE, Policy, parse_retry_after

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize("attempts", range(1, 8))
def test_each_delay_is_the_schedule_within_20_percent(attempts):
    policy = Policy()
    delays = [policy.retry_delay(attempts, rng=random.Random(seed)) for seed in range(200)]
    step = DEFAULT_SCHEDULE[attempts]
    assert all(0.8 * step <= d <= 1.2 * step for d in delays)
    assert max(delays) - min(delays) > 0.2 * step  # really jittered


def test_no_delay_once_every_attempt_is_spent():
    assert Policy().retry_delay(len(DEFAULT_SCHEDULE)) is None


def test_a_429_or_timeout_waits_at_least_a_minute():
    assert Policy().retry_delay(1, overloaded=True) == 60.0
    assert Policy().retry_delay(1) < 10


def test_retry_after_is_honoured_within_d_and_2d():
    policy = Policy(schedule=(0, 100, 100))
    rng = random.Random(1)
    delay = policy.retry_delay(1, rng=random.Random(1))
    assert policy.retry_delay(1, retry_after=10, rng=rng) == pytest.approx(delay)
    assert policy.retry_delay(1, retry_after=150, rng=random.Random(1)) == 150
    assert policy.retry_delay(1, retry_after=10_000, rng=random.Random(1)) == pytest.approx(
        2 * delay
    )


def test_settings_shape_the_policy():
    settings = {"HUB_WEBHOOK_RETRY_SCHEDULE": (0, 1, 2), "HUB_WEBHOOK_DISABLE_AFTER": 3600.0}
    policy = Policy.from_settings(settings.get)
    assert policy.schedule == (0, 1, 2) and policy.disable_after == timedelta(hours=1)
    assert Policy.from_settings({}.get) == Policy()


def test_disable_only_after_failing_long_enough():
    policy = Policy()
    assert not policy.should_disable(None, NOW)
    assert not policy.should_disable(NOW - timedelta(days=4, hours=23), NOW)
    assert policy.should_disable(NOW - timedelta(days=5), NOW)


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("120", 120.0),
        (" 7 ", 7.0),
        (format_datetime(NOW + timedelta(minutes=3), usegmt=True), 180.0),
        (format_datetime(NOW - timedelta(minutes=3), usegmt=True), 0.0),
        ("99999999999", 7 * 24 * 3600.0),
        ("soon", None),
        ("", None),
        (None, None),
    ],
)
def test_parse_retry_after(value, seconds):
    assert parse_retry_after(value, NOW) == seconds
