"""Usage recording and quota checks in ctx.http: calls per second through the hub's provider
session to a loopback server, bare, with the usage recorder, and with recorder + the org x
provider quota (a quota large enough never to refuse); plus the recorder alone, the
recorder in batches as the webhook pump uses it (one round trip per flush of outcomes), and
how fast the flush moves recorded calls into the database.

    .venv/bin/python bench/usage.py [--calls 3000] [--rounds 3]

An embedded Redis and a throwaway SQLite database are made and removed by the script. The
loopback server answers a small JSON body over keep-alive connections, so the numbers show
what recording costs next to the cheapest possible provider call (a real provider's call
takes 50-500 ms, where the recorder's share vanishes).
"""

from __future__ import annotations

import argparse
import logging
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import redis
from sqlalchemy import create_engine
from sqlalchemy.orm import Session
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from hub import Provider, RateLimits
from hub.core.connections.http import ProviderSession
from hub.core.connections.usage import PENDING_KEY, UsageRecord, UsageRecorder, drain, usage
from hub.core.embedded_redis import EmbeddedRedis
from hub.core.models import Organization
from hub.core.ratelimit import Limiter

BIG = 10**9
CHUNK = 100
PUMP_BATCH = 32  # outcomes the pump records at once at its default concurrency (2 x 16)
PROVIDER = Provider(
    name="bench",
    title="Bench",
    rate_limits=RateLimits(per_second=BIG, per_minute=BIG, per_hour=BIG, per_day=BIG),
)


@Request.application
def answer(request: Request) -> Response:
    return Response('{"ok": true}', mimetype="application/json")


def serve() -> tuple[str, Callable[[], None]]:
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no access log per request
    server = make_server("127.0.0.1", 0, answer, threaded=True)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    return f"http://127.0.0.1:{server.server_port}/ping", server.shutdown


def session(usage: Any = None, quota: Any = None) -> ProviderSession:
    return ProviderSession(
        org_id=1, provider=PROVIDER, timeout=10, default_retry_after=60, usage=usage, quota=quota
    )


def rate(calls: int, one: Callable[[], Any]) -> float:
    started = time.perf_counter()
    for _ in range(calls):
        one()
    return calls / (time.perf_counter() - started)


def http_rates(url: str, client: redis.Redis, calls: int, rounds: int) -> dict[str, float]:
    """Calls/s of each variant; they take turns every CHUNK calls, so load drift on a busy
    machine hits them alike."""
    limiter = Limiter(client)
    variants = {
        "bare": session(),
        "recorder": session(UsageRecorder(client)),
        "recorder+quota": session(UsageRecorder(client), limiter.check_provider),
    }
    spent = dict.fromkeys(variants, 0.0)
    for http in variants.values():  # warm up connections and scripts
        rate(50, lambda http=http: http.get(url))
    turns = max(1, calls * rounds // CHUNK)
    for _ in range(turns):
        for name, http in variants.items():
            spent[name] += CHUNK / rate(CHUNK, lambda http=http: http.get(url))
    return {name: turns * CHUNK / seconds for name, seconds in spent.items()}


def flush_rate(client: redis.Redis, database: str) -> tuple[int, float]:
    engine = create_engine(f"sqlite:///{database}")
    Organization.metadata.create_all(engine, tables=[Organization.__table__, UsageRecord.__table__])
    with Session(engine) as db:
        db.add(Organization(id=1, name="Bench", slug="bench"))
        db.commit()
        pending = int(client.llen(PENDING_KEY))
        started = time.perf_counter()
        moved = drain(db, client, limit=10**7)
        return pending if moved == pending else -1, moved / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        server = EmbeddedRedis(Path(tmp) / "redis.sock").start()
        stop = lambda: None  # noqa: E731
        try:
            client = redis.Redis.from_url(server.url)
            url, stop = serve()
            rates = http_rates(url, client, args.calls, args.rounds)
            recorder = UsageRecorder(client)
            alone = rate(args.calls, lambda: recorder(org_id=1, plugin="bench", status=200))
            batched = PUMP_BATCH * rate(args.calls // PUMP_BATCH, lambda: batch(recorder))
            ping = rate(args.calls, client.ping)
            moved, per_second = flush_rate(client, str(Path(tmp) / "bench.db"))
        finally:
            stop()
            server.stop()
    report(args, rates, (alone, batched), ping, moved, per_second)


def batch(recorder: UsageRecorder) -> None:
    """What the pump records after a flush of outcomes: a record per delivery attempt."""
    recorder.record_many(
        usage(org_id=1, plugin="bench", feature="delivery", status=200, duration=0.01, size=300)
        for _ in range(PUMP_BATCH)
    )


def report(
    args: Any,
    rates: dict[str, float],
    recorded: tuple[float, float],
    ping: float,
    moved: int,
    flush: float,
) -> None:
    alone, batched = recorded
    bare = rates["bare"]
    print(f"ctx.http to a loopback server, {args.calls * args.rounds} calls per variant:")
    for name, value in rates.items():
        extra = (1 / value - 1 / bare) * 1e6
        print(f"  {name:15s} {value:8.0f} calls/s   {extra:+7.1f} us per call vs bare")
    print(f"recorder alone: {alone:8.0f} records/s ({1e6 / alone:.1f} us each)")
    print(
        f"recorder, {PUMP_BATCH} at a time (the webhook pump): {batched:8.0f} records/s "
        f"({1e6 / batched:.1f} us each)"
    )
    print(f"Redis PING:     {ping:8.0f} round trips/s ({1e6 / ping:.1f} us each)")
    print(f"flush to SQLite: {moved} records at {flush:8.0f} records/s")


if __name__ == "__main__":
    main()
