"""The organization's sending rate (`rate_limit_per_minute`), counted atomically in Redis."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hub import now

# Take up to `wanted` sends from this minute's budget in one step: no read-then-write race
# between workers. Returns how many were granted.
_RESERVE = """
local used = tonumber(redis.call('GET', KEYS[1]) or '0')
local grant = math.min(tonumber(ARGV[1]), math.max(0, tonumber(ARGV[2]) - used))
if grant > 0 then
  redis.call('INCRBY', KEYS[1], grant)
  redis.call('EXPIRE', KEYS[1], 120)
end
return grant
"""


@dataclass(frozen=True)
class Reservation:
    key: str
    granted: int


def reserve(redis: Any, org_id: int, per_minute: int, wanted: int) -> Reservation:
    """How many of `wanted` emails the org may send now (0 when this minute is used up)."""
    key = f"smtp:rate:{org_id}:{int(now().timestamp()) // 60}"
    if wanted <= 0:
        return Reservation(key, 0)
    return Reservation(key, int(redis.eval(_RESERVE, 1, key, wanted, per_minute)))


def refund(redis: Any, reservation: Reservation, used: int) -> None:
    """Give back what was reserved but not sent (fewer rows were due than reserved)."""
    if reservation.granted > used:
        redis.decrby(reservation.key, reservation.granted - used)
