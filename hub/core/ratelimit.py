"""Rate limits in Redis (the ``limits`` library): provider quotas per org, the API per key,
failed authentications per client address.

A provider's :class:`hub.RateLimits` become one window each, per organization x provider.
Seconds and minutes are moving windows (exact, bounded memory); hours and days are fixed
windows (one counter each, since a moving window of a million calls is a million entries).
Each hit is one atomic Lua script (or INCR), so concurrent workers never overshoot; a
provider's call takes all of its windows in one script (one round trip, not one a window).
"""

from __future__ import annotations

import logging
import time

import redis
from limits import RateLimitItem, parse_many
from limits.limits import (
    RateLimitItemPerDay,
    RateLimitItemPerHour,
    RateLimitItemPerMinute,
    RateLimitItemPerSecond,
)
from limits.storage import RedisStorage
from limits.strategies import FixedWindowRateLimiter, MovingWindowRateLimiter, RateLimiter

from hub.errors import RateLimited
from hub.provider import Provider, RateLimits

log = logging.getLogger(__name__)

KEY_PREFIX = "hub:limits"
DEFERRALS_KEY = "hub:metrics:rate_limit_deferrals"  # hash: "<plugin>|<source>" -> count

Window = tuple[RateLimiter, RateLimitItem]

# A request's whole limit check in one round trip: is the client address past its failed
# authentications (read only), then one call of each of the key's windows, shortest first,
# stopping at the first full one; and the key-cache generation (hub/api/keycache.py). The
# windows are the lists `limits` keeps for a moving window (newest timestamp first, trimmed
# to the limit), read and written as its own scripts do, so both agree on every count.
_ADMIT = """
local now = tonumber(ARGV[1])
local failures = tonumber(ARGV[2])
local generation = redis.call('get', KEYS[#KEYS]) or ''
local function full(key, limit, expiry)
    local entry = redis.call('lindex', key, limit - 1)
    return entry and tonumber(entry) >= now - expiry
end
local blocked = 0
for i = 1, failures do
    if full(KEYS[i], tonumber(ARGV[1 + 2 * i]), tonumber(ARGV[2 + 2 * i])) then blocked = i end
end
if blocked > 0 then return {1, blocked, generation} end
local base = 2 + 2 * failures
for j = 1, tonumber(ARGV[base + 1]) do
    local key = KEYS[failures + j]
    local limit, expiry = tonumber(ARGV[base + 2 * j]), tonumber(ARGV[base + 1 + 2 * j])
    if full(key, limit, expiry) then return {2, j, generation} end
    redis.call('lpush', key, now)
    redis.call('ltrim', key, 0, limit - 1)
    redis.call('expire', key, expiry)
end
return {0, 0, generation}
"""

# A provider's quota in one round trip: one call of each of its windows, shortest first,
# stopping at the first full one (the number of that window is answered, 0 when none is).
# Moving windows are the lists `limits` keeps (as in _ADMIT); fixed windows are its
# counters, increased as its own script does (the expiry set by the first call), so a
# call a fixed window refuses counts in it, as with `limits`.
_PROVIDER = """
local now = tonumber(ARGV[1])
for i = 1, #KEYS do
    local limit, expiry = tonumber(ARGV[3 * i]), tonumber(ARGV[3 * i + 1])
    if ARGV[3 * i - 1] == 'moving' then
        local entry = redis.call('lindex', KEYS[i], limit - 1)
        if entry and tonumber(entry) >= now - expiry then return i end
        redis.call('lpush', KEYS[i], now)
        redis.call('ltrim', KEYS[i], 0, limit - 1)
        redis.call('expire', KEYS[i], expiry)
    else
        local current = redis.call('incrby', KEYS[i], 1)
        if current == 1 then redis.call('expire', KEYS[i], expiry) end
        if current > limit then return i end
    end
end
return 0
"""


def parse_api_limit(value: str) -> tuple[RateLimitItem, ...]:
    """``HUB_API_RATE_LIMIT``: ``600/minute`` (``;`` for several); empty or ``off``: none."""
    if value.strip().lower() in ("", "off", "0", "none"):
        return ()
    try:
        return tuple(parse_many(value))
    except ValueError as exc:
        raise ValueError("expected e.g. `600/minute` or `600/minute;20/second`") from exc


def count_deferral(client: redis.Redis, plugin: str, source: str) -> None:
    """One more run deferred by a rate limit (``source``: quota or provider), for /metrics."""
    try:
        client.hincrby(DEFERRALS_KEY, f"{plugin}|{source}", 1)
    except redis.RedisError as exc:
        log.warning("rate-limit deferral not counted: %s", exc)


class Limiter:
    """The windows of every provider, API key and client address, on the app's Redis."""

    def __init__(
        self,
        client: redis.Redis,
        api_limit: tuple[RateLimitItem, ...] = (),
        auth_fail_limit: tuple[RateLimitItem, ...] = (),
    ) -> None:
        storage = RedisStorage(
            "redis://", connection_pool=client.connection_pool, key_prefix=KEY_PREFIX
        )
        self.redis = client
        self.storage = storage
        self._admit = client.register_script(_ADMIT)
        self._provider = client.register_script(_PROVIDER)
        self.moving = MovingWindowRateLimiter(storage)
        self.fixed = FixedWindowRateLimiter(storage)
        self.api_windows = self._moving_windows(api_limit)
        self.auth_fail_windows = self._moving_windows(auth_fail_limit)
        self._provider_windows: dict[RateLimits, list[Window]] = {}

    def _moving_windows(self, items: tuple[RateLimitItem, ...]) -> list[Window]:
        return [(self.moving, item) for item in sorted(items, key=lambda i: i.get_expiry())]

    def windows_of(self, limits: RateLimits) -> list[Window]:
        if limits not in self._provider_windows:
            spec: list[tuple[int | None, type[RateLimitItem], RateLimiter]] = [
                (limits.per_second, RateLimitItemPerSecond, self.moving),
                (limits.per_minute, RateLimitItemPerMinute, self.moving),
                (limits.per_hour, RateLimitItemPerHour, self.fixed),
                (limits.per_day, RateLimitItemPerDay, self.fixed),
            ]
            self._provider_windows[limits] = [
                (strategy, item(amount)) for amount, item, strategy in spec if amount
            ]
        return self._provider_windows[limits]

    def _take(self, windows: list[Window], ids: tuple[str, ...]) -> float | None:
        """Use one call of every window; None, or the seconds until the full one has room.

        Windows go from the shortest to the longest and stop at the first that is full, so
        a refusal never uses a longer window's calls; the shorter ones it used refill
        before the longer one could (one round trip per window, no read-then-write).
        """
        for strategy, item in windows:
            if not strategy.hit(item, *ids):
                return self._wait(strategy, item, ids)
        return None

    def _take_at_once(self, windows: list[Window], ids: tuple[str, ...]) -> float | None:
        """``_take`` in one round trip (a provider's call pays one, not one per window)."""
        keys: list[str] = []
        args: list[float | str] = [time.time()]
        for strategy, item in windows:
            keys.append(self.storage.prefixed_key(item.key_for(*ids)))
            kind = "moving" if strategy is self.moving else "fixed"
            args += [kind, item.amount, item.get_expiry()]
        full = int(self._provider(keys=keys, args=args))
        return self._wait(*windows[full - 1], ids) if full else None

    def _wait(self, strategy: RateLimiter, item: RateLimitItem, ids: tuple[str, ...]) -> float:
        reset = strategy.get_window_stats(item, *ids).reset_time
        return max(0.1, round(reset - time.time(), 3))

    def check_provider(self, org_id: int, provider: Provider) -> None:
        """``app.extensions["hub.quota"]``: take one call of the org's quota, or RateLimited."""
        if provider.rate_limits is None:
            return
        wait = self._take_at_once(
            self.windows_of(provider.rate_limits), ("provider", provider.name, str(org_id))
        )
        if wait is not None:
            count_deferral(self.redis, provider.name, "quota")
            raise RateLimited(wait, f"{provider.title}: this organization's quota is used up.")

    def check_api_key(self, key_id: int) -> None:
        """One request of an API key; RateLimited (429 with Retry-After) past the limit."""
        if not self.api_windows:
            return
        try:
            wait = self._take(self.api_windows, ("api", str(key_id)))
        except redis.RedisError as exc:  # the API keeps answering without Redis
            log.warning("API rate limit not checked: %s", exc)
            return
        if wait is not None:
            raise RateLimited(wait, "Too many requests for this API key; slow down.")

    def check_client(self, address: str) -> None:
        """RateLimited (429 with Retry-After) while `address` is past its failed
        authentications (``HUB_AUTH_FAIL_LIMIT``); nothing is counted here."""
        ids = ("authfail", address)
        try:
            full = [(s, item) for s, item in self.auth_fail_windows if not s.test(item, *ids)]
            wait = self._wait(*full[-1], ids) if full else None
        except redis.RedisError as exc:  # the API keeps answering without Redis
            log.warning("failed-authentication limit not checked: %s", exc)
            return
        if wait is not None:
            raise RateLimited(
                wait, "Too many failed authentications from this address; try again later."
            )

    def admit(self, address: str, key_id: int | None, generation_key: str) -> str | None:
        """``check_client`` for `address` and, with a `key_id`, ``check_api_key``, in one
        round trip that also reads `generation_key`: its value ('' when unset), or None
        when Redis could not answer (the API keeps answering without Redis)."""
        fail_ids, api_ids = ("authfail", address), ("api", str(key_id))
        api_windows: list[Window] = self.api_windows if key_id is not None else []
        keys: list[str] = []
        args: list[float] = [time.time()]
        for windows, ids in ((self.auth_fail_windows, fail_ids), (api_windows, api_ids)):
            args.append(len(windows))
            for _, item in windows:
                keys.append(self.storage.prefixed_key(item.key_for(*ids)))
                args += [item.amount, item.get_expiry()]
        try:
            verdict, window, generation = self._admit(keys=[*keys, generation_key], args=args)
            if verdict:
                windows, ids = (
                    (self.auth_fail_windows, fail_ids) if verdict == 1 else (api_windows, api_ids)
                )
                strategy, item = windows[window - 1]
                wait = self._wait(strategy, item, ids)
        except redis.RedisError as exc:
            log.warning("API rate limits not checked: %s", exc)
            return None
        if verdict == 1:
            raise RateLimited(
                wait, "Too many failed authentications from this address; try again later."
            )
        if verdict == 2:
            raise RateLimited(wait, "Too many requests for this API key; slow down.")
        return generation.decode() if isinstance(generation, bytes) else str(generation)

    def count_auth_failure(self, address: str) -> None:
        """One more failed authentication (a bad key or signature) from `address`."""
        try:
            for strategy, item in self.auth_fail_windows:
                strategy.hit(item, "authfail", address)
        except redis.RedisError as exc:
            log.warning("failed authentication not counted: %s", exc)
