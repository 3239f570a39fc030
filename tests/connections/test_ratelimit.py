"""Rate limits: provider quotas per org x provider in Redis, the API per key, and a
provider's own 429 honoured by the run's next attempt."""

from __future__ import annotations

import multiprocessing
import time
from typing import Any

import pytest
import redis
from sqlalchemy import select
from support import ratelimit_plugin
from support.ratelimit_plugin import Provider429Server

from hub import Provider, RateLimits
from hub.core.models import Run
from hub.core.ratelimit import DEFERRALS_KEY, Limiter, parse_api_limit
from hub.errors import RateLimited
from hub.extensions import db
from hub.testing import make_org

PROVIDER = Provider(name="quota", title="Quota", rate_limits=RateLimits(per_second=3, per_minute=5))


def take(limiter: Limiter, org_id: int, provider: Provider = PROVIDER) -> float | None:
    """None when the call may go, else the seconds RateLimited said to wait."""
    try:
        limiter.check_provider(org_id, provider)
    except RateLimited as exc:
        return exc.retry_after
    return None


def test_a_quota_defers_past_its_window_per_org(redis_client):
    limiter = Limiter(redis_client)
    assert [take(limiter, 1) for _ in range(3)] == [None, None, None]
    wait = take(limiter, 1)
    assert wait is not None and 0 < wait <= 1
    assert take(limiter, 2) is None  # another organization has its own quota
    assert redis_client.hget(DEFERRALS_KEY, "quota|quota") == b"1"
    time.sleep(wait + 0.05)
    assert take(limiter, 1) is None


def test_a_call_refused_by_the_seconds_window_uses_none_of_the_minutes(redis_client):
    limiter = Limiter(redis_client)
    assert [take(limiter, 1) for _ in range(3)] == [None, None, None]
    assert take(limiter, 1) is not None  # the second's window is full: the minute's is not used
    time.sleep(1.05)
    assert [take(limiter, 1) for _ in range(2)] == [None, None]  # 5 per minute reached
    wait = take(limiter, 1)
    assert wait is not None and wait > 50  # the minute's window, not the second's


def test_no_quota_means_no_limit(redis_client):
    limiter = Limiter(redis_client)
    free = Provider(name="free", title="Free")
    assert all(take(limiter, 1, free) is None for _ in range(100))


def _hammer(url: str, calls: int, start_at: float) -> int:
    """In another process: try `calls` calls at once; how many the quota let through."""
    limiter = Limiter(redis.Redis.from_url(url))
    many = Provider(name="many", title="Many", rate_limits=RateLimits(per_minute=25))
    time.sleep(max(0.0, start_at - time.time()))
    return sum(take(limiter, 7, many) is None for _ in range(calls))


def test_two_processes_never_overshoot_the_quota(hub_redis_url, redis_client):
    start_at = time.time() + 2
    with multiprocessing.get_context("spawn").Pool(2) as pool:
        allowed = pool.starmap(_hammer, [(hub_redis_url, 40, start_at)] * 2)
    assert sum(allowed) == 25


def test_the_api_rate_limit_setting_is_parsed_at_start_up():
    assert [str(item) for item in parse_api_limit("600/minute;20/second")] == [
        "600 per 1 minute",
        "20 per 1 second",
    ]
    assert parse_api_limit("off") == ()
    with pytest.raises(ValueError):
        parse_api_limit("lots")


class TestApiRateLimit:
    @pytest.fixture
    def hub_config(self, hub_config: dict[str, Any]) -> dict[str, Any]:
        return {**hub_config, "HUB_API_RATE_LIMIT": "3/minute"}

    def test_a_key_past_its_limit_gets_429_with_retry_after(self, api, member_api):
        assert [api.get("/api/me").status_code for _ in range(3)] == [200, 200, 200]
        refused = api.get("/api/me")
        assert refused.status_code == 429
        assert 1 <= int(refused.headers["Retry-After"]) <= 60
        assert refused.json["error"]["code"] == "rate_limited"
        assert member_api.get("/api/me").status_code == 200  # each key has its own


def test_the_api_limit_can_be_turned_off(make_app):
    app = make_app(HUB_API_RATE_LIMIT="off")
    org = make_org(app, "Unlimited")
    client = app.test_client()
    headers = {"Authorization": f"Bearer {org.admin_key}"}
    assert all(client.get("/api/me", headers=headers).status_code == 200 for _ in range(20))


class TestProvider429:
    @pytest.fixture
    def provider_server(self):
        server = Provider429Server(throttle_first=7)
        yield server
        server.stop()

    @pytest.fixture
    def hub_config(self, hub_config: dict[str, Any], provider_server) -> dict[str, Any]:
        return {**hub_config, "BURST_API_BASE": provider_server.url}

    def test_a_providers_retry_after_is_honoured_without_counting_an_attempt(
        self, app, api, register_plugin, enable_plugin, provider_server, hub_clock, redis_client
    ):
        from hub.testing import run_jobs

        register_plugin(ratelimit_plugin, ratelimit_plugin.NAME)
        enable_plugin(ratelimit_plugin.NAME)
        assert api.post("/api/clients", json={"name": "Globex"}).status_code == 201
        run_jobs(app)
        assert len(provider_server.calls) == 1
        with app.app_context():
            run = db.session.scalars(select(Run).where(Run.plugin == "burst")).one()
            assert (run.state, run.attempts) == ("queued", 0)
            db.session.remove()
        hub_clock.advance(seconds=6)
        run_jobs(app)
        assert len(provider_server.calls) == 1  # not before Retry-After
        hub_clock.advance(seconds=1)
        run_jobs(app)
        assert len(provider_server.calls) == 2
        with app.app_context():
            run = db.session.scalars(select(Run).where(Run.plugin == "burst")).one()
            assert (run.state, run.attempts) == ("succeeded", 1)
        assert redis_client.hget(DEFERRALS_KEY, "burst|provider") == b"1"


def test_a_quotas_windows_are_taken_in_one_round_trip_and_agree_with_limits(redis_client):
    limiter = Limiter(redis_client)
    every = Provider(
        name="every",
        title="Every",
        rate_limits=RateLimits(per_second=2, per_minute=50, per_hour=100, per_day=1000),
    )
    ids = ("provider", "every", "3")
    windows = limiter.windows_of(every.rate_limits)
    assert [take(limiter, 3, every) for _ in range(2)] == [None, None]
    assert take(limiter, 3, every) is not None  # the second's window is full
    # what `limits` reads of each window: 2 calls each, the refused one in none of them
    remaining = [s.get_window_stats(item, *ids).remaining for s, item in windows]
    assert remaining == [0, 48, 98, 998]
    time.sleep(1.05)
    assert take(limiter, 3, every) is None
    remaining = [s.get_window_stats(item, *ids).remaining for s, item in windows]
    assert remaining == [1, 47, 97, 997]
