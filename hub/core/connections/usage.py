"""Usage: every ctx.http call and every unit of work recorded cheaply in Redis, then moved
to the database.

The recorder runs inside ``ctx.http``, ``ctx.record_usage`` and the webhook pump, so it does
one pipelined Redis round trip per call or per batch (a list push, the per-feature counters
and the latency histogram's) and never touches the database. ``drain`` moves the pending
records into ``usage_records`` in batches, exactly once even when several workers drain at
the same time (a Redis lock, and each record's unique ``uid``).
"""

from __future__ import annotations

import json
import logging
import secrets
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import redis
from sqlalchemy import BigInteger, Float, Index, String, Table, text
from sqlalchemy.orm import Mapped, Session, mapped_column

from hub.core import clock, retention
from hub.core.db import insert_ignoring_conflicts
from hub.core.models import Base, OrgScoped
from hub.core.ratelimit import DEFERRALS_KEY

log = logging.getLogger(__name__)

PENDING_KEY = "hub:usage:pending"
DRAIN_LOCK = "hub:usage:drain"
LATENCY_KEY = "hub:metrics:provider_latency"  # hash: "<plugin>|<bucket>" -> count
COUNTS_KEY = "hub:metrics:usage"  # hash: "<plugin>|<feature>|ok|failed" -> count
# Upper bounds (seconds) of the provider call latency histogram.
LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
BATCH = 500
# one encoder for every record: json.dumps with any option builds a new one per call
_encode = json.JSONEncoder(separators=(",", ":")).encode


class UsageRecord(OrgScoped, Base):
    """One provider call made through ``ctx.http``, or one unit of work a plugin recorded."""

    __tablename__ = "usage_records"
    __table_args__ = (
        Index("ix_usage_records_org_plugin_at", "org_id", "plugin", "created_at"),
        Index("ix_usage_records_created_at", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    uid: Mapped[str] = mapped_column(String(32), unique=True)
    plugin: Mapped[str] = mapped_column(String(64))
    feature: Mapped[str] = mapped_column(String(100))
    method: Mapped[str] = mapped_column(String(10))
    status: Mapped[int]  # the HTTP (or SMTP) status; 0 when no answer came (timeout, refused)
    ok: Mapped[bool]
    duration_ms: Mapped[float] = mapped_column(Float)
    bytes: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime]
    hour: Mapped[int]  # hours since the epoch: per-hour breakdowns on any database


USAGE_RECORDS = cast(Table, UsageRecord.__table__)


@dataclass(frozen=True)
class Usage:
    """What the recorder is told about one call."""

    uid: str  # makes moving it to the database idempotent
    org_id: int
    plugin: str
    feature: str
    method: str
    status: int
    duration_ms: float
    bytes: int
    at: float  # epoch seconds
    ok: bool


def usage(
    *,
    org_id: int,
    plugin: str,
    feature: str | None = None,
    method: str = "",
    status: int = 0,
    duration: float = 0.0,
    size: int = 0,
    ok: bool | None = None,
) -> Usage:
    """A record as the recorder stores it; `ok` defaults to a status below 400."""
    status = int(status)
    return Usage(
        secrets.token_hex(12),
        org_id,
        plugin,
        # "|" separates the metric counters' fields
        (feature or "other")[:100].replace("|", "/"),
        method.upper()[:10],
        status,
        round(duration * 1000, 3),
        int(size),
        clock.now().timestamp(),
        bool(0 < status < 400 if ok is None else ok),
    )


def latency_bucket(seconds: float) -> str:
    """The histogram bucket (its upper bound, as Prometheus spells it) of a duration."""
    for bound in LATENCY_BUCKETS:
        if seconds <= bound:
            return str(bound)
    return "+Inf"


class UsageRecorder:
    """``app.extensions["hub.usage"]``: told about every provider call and unit of work."""

    def __init__(self, client: redis.Redis) -> None:
        self.redis = client

    def __call__(self, **call: Any) -> None:
        """One record (the arguments of :func:`usage`)."""
        self.record_many([usage(**call)])

    def record(self, item: Usage) -> None:
        self.record_many([item])

    def record_many(self, items: Iterable[Usage]) -> None:
        """One round trip for the whole batch; a Redis failure is logged, never raised."""
        items = list(items)
        if not items:
            return
        try:
            pipe = self.redis.pipeline(transaction=False)
            pipe.rpush(PENDING_KEY, *(_encode(vars(u)) for u in items))
            for name, count in _counters(items).items():
                pipe.hincrby(COUNTS_KEY, name, count)
            latency, seconds = _latencies(items)
            for name, count in latency.items():
                pipe.hincrby(LATENCY_KEY, name, count)
            for plugin, total in seconds.items():
                pipe.hincrbyfloat(LATENCY_KEY, f"{plugin}|sum", total)
            for plugin, count in Counter(u.plugin for u in items if u.status == 429).items():
                # the provider deferred the run (ctx.http raises RateLimited)
                pipe.hincrby(DEFERRALS_KEY, f"{plugin}|provider", count)
            pipe.execute()
        except redis.RedisError as exc:
            log.warning("usage not recorded: %s", exc)


def _counters(items: list[Usage]) -> Counter[str]:
    return Counter(f"{u.plugin}|{u.feature}|{'ok' if u.ok else 'failed'}" for u in items)


def _latencies(items: list[Usage]) -> tuple[Counter[str], dict[str, float]]:
    buckets: Counter[str] = Counter()
    seconds: dict[str, float] = {}
    for u in items:
        buckets[f"{u.plugin}|{latency_bucket(u.duration_ms / 1000)}"] += 1
        seconds[u.plugin] = seconds.get(u.plugin, 0.0) + u.duration_ms / 1000
    return buckets, seconds


def _row(raw: Any) -> dict[str, Any]:
    data = json.loads(raw)
    at = datetime.fromtimestamp(data["at"], UTC)
    return {
        "uid": data["uid"],
        "org_id": data["org_id"],
        "plugin": data["plugin"],
        "feature": data["feature"],
        "method": data["method"],
        "status": data["status"],
        # records pushed before `ok` was stored: judged by their status
        "ok": data.get("ok", 0 < data["status"] < 400),
        "duration_ms": data["duration_ms"],
        "bytes": data["bytes"],
        "created_at": at,
        "hour": int(data["at"] // 3600),
    }


def _insert(session: Session, raws: list[Any]) -> int:
    """Insert a batch, skipping records a crashed drain already wrote (their ``uid`` is
    unique); how many were new.

    A record per webhook attempt and provider call makes this the busiest insert a worker
    does. On PostgreSQL the records go to the server as they were stored, one JSON array
    read by ``json_to_recordset``: none is decoded in Python. Elsewhere they are decoded
    and inserted in one executemany; ORM objects cost several times more.
    """
    if session.get_bind().dialect.name == "postgresql":
        stored = [raw.decode() if isinstance(raw, bytes) else raw for raw in raws]
        written = session.scalars(_INSERT_STORED, {"records": f"[{','.join(stored)}]"}).all()
    else:
        rows = list({row["uid"]: row for row in map(_row, raws)}.values())
        written = insert_ignoring_conflicts(session, USAGE_RECORDS, rows, USAGE_RECORDS.c.id)
    session.commit()
    return len(written)


# What _row does, done by PostgreSQL: created_at from the epoch seconds (UTC, no zone, as
# UTCDateTime stores it), the hour, and `ok` judged by the status for records pushed before
# it was stored.
_INSERT_STORED = text(
    "INSERT INTO usage_records (uid, org_id, plugin, feature, method, status, ok,"
    " duration_ms, bytes, created_at, hour)"
    " SELECT r.uid, r.org_id, r.plugin, r.feature, r.method, r.status,"
    " coalesce(r.ok, r.status > 0 AND r.status < 400), r.duration_ms, r.bytes,"
    " to_timestamp(r.at) AT TIME ZONE 'UTC', CAST(floor(r.at / 3600) AS integer)"
    " FROM json_to_recordset(CAST(:records AS json)) AS r(uid text, org_id integer,"
    " plugin text, feature text, method text, status integer, ok boolean,"
    " duration_ms double precision, bytes bigint, at double precision)"
    " ON CONFLICT DO NOTHING RETURNING id"
)


def drain(session: Session, client: redis.Redis, limit: int = 50_000) -> int:
    """Move pending records into the database; how many were written."""
    lock = client.lock(DRAIN_LOCK, timeout=300)
    if not lock.acquire(blocking=False):
        return 0  # another process is draining
    written = 0
    try:
        while written < limit:
            raws = list(client.lrange(PENDING_KEY, 0, BATCH - 1))
            if not raws:
                break
            written += _insert(session, raws)
            client.ltrim(PENDING_KEY, len(raws), -1)
    finally:
        lock.release()
    return written


def prune(session: Session, days: int) -> int:
    """Forget usage older than the retention period, a batch per short transaction."""
    cutoff = clock.now() - timedelta(days=days)
    return retention.delete_older(
        session, UsageRecord, UsageRecord.id, UsageRecord.created_at, cutoff
    )
