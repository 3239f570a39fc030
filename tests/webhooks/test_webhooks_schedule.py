"""The retry schedule and the disable rule, as pure rules (no clock, no network)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from hub.core.webhooks.policy import DEFAULT_SCHEDULE, Policy, parse_retry_after

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


class Fixed(random.Random):
    """uniform() returns its lower or upper bound: the jitter's two extremes."""

    def __init__(self, upper: bool) -> None:
        super().__init__()
        self.upper = upper

    def uniform(self, a: float, b: float) -> float:
        return b if self.upper else a


def test_the_default_schedule_is_the_designs():
    assert DEFAULT_SCHEDULE == (0, 5, 300, 1800, 7200, 18000, 36000, 36000)
    assert Policy().max_attempts == 8


@pytest.mark.parametrize("attempts", range(1, 8))
def test_jitter_stays_within_twenty_percent(attempts):
    policy, base = Policy(), DEFAULT_SCHEDULE[attempts]
    assert policy.retry_delay(attempts, rng=Fixed(upper=False)) == pytest.approx(base * 0.8)
    assert policy.retry_delay(attempts, rng=Fixed(upper=True)) == pytest.approx(base * 1.2)
    rng = random.Random(attempts)
    delays = [policy.retry_delay(attempts, rng=rng) for _ in range(500)]
    assert all(base * 0.8 <= d <= base * 1.2 for d in delays)  # type: ignore[operator]
    assert len(set(delays)) > 400  # spread out, not one value


def test_attempts_stop_after_the_eighth():
    assert Policy().retry_delay(8) is None
    assert Policy(schedule=(0, 5)).retry_delay(2) is None
    assert Policy(schedule=(0, 5)).retry_delay(1, rng=Fixed(False)) == pytest.approx(4.0)


def test_a_429_or_timeout_waits_at_least_a_minute():
    policy = Policy()
    assert policy.retry_delay(1, overloaded=True, rng=Fixed(True)) == 60
    long = policy.retry_delay(2, overloaded=True, rng=Fixed(False))
    assert long == pytest.approx(240)  # already longer than the floor: unchanged


@pytest.mark.parametrize(
    ("retry_after", "expected"),
    [(1, 240), (250, 250), (480, 480), (10_000, 480)],
    ids=["below d: d", "inside", "2d", "above 2d: 2d"],
)
def test_retry_after_is_clamped_to_d_and_2d(retry_after, expected):
    delay = Policy().retry_delay(2, retry_after=retry_after, rng=Fixed(False))  # d = 240
    assert delay == pytest.approx(expected)


def test_retry_after_with_a_429_clamps_around_the_floor():
    # d = max(5 * 0.8, 60) = 60, so Retry-After 3600 is clamped to 120
    delay = Policy().retry_delay(1, overloaded=True, retry_after=3600, rng=Fixed(False))
    assert delay == pytest.approx(120)


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("120", 120.0),
        (" 7 ", 7.0),
        ("Sun, 01 Mar 2026 12:02:00 GMT", 120.0),
        ("Sun, 01 Mar 2026 11:00:00 GMT", 0.0),
        ("soon", None),
        ("-5", None),
        ("", None),
        (None, None),
        ("99999999999", 7 * 24 * 3600.0),
    ],
)
def test_retry_after_header_forms(header, seconds):
    assert parse_retry_after(header, NOW) == seconds


def test_an_endpoint_is_disabled_after_five_days_of_failures_only():
    policy = Policy()
    assert not policy.should_disable(None, NOW)
    assert not policy.should_disable(NOW - timedelta(days=5, seconds=-1), NOW)
    assert policy.should_disable(NOW - timedelta(days=5), NOW)
    assert Policy(disable_after=timedelta(hours=1)).should_disable(NOW - timedelta(hours=1), NOW)
