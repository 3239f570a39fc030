"""Fairness between organizations: org B's webhook latency, commit to receipt, while org A's
five endpoints never answer; beside B's latency alone, measured in the same run.

    .venv/bin/python bench/fairness.py [--a-events 200] [--rate 4] [--seconds 15]
                                       [--workers 1] [--database-url URL]

Org A has five endpoints on loopback that cost a sender all the time they can: three drop
every connection (a listening socket whose backlog is full: the connect timeout), two accept
and answer one byte a second (the whole attempt deadline). Org B has one endpoint on a fast
receiver. First B alone: events at --rate per second for --seconds; then A's --a-events
events at once (five deliveries each), and B's events at the same pace while A's are tried.
Latency is the receipt time minus the event's timestamp (stamped in the request's
transaction, just before the commit). Every delivery goes the production way (outbox,
dispatch, the webhooks plugin's run, the pump through the egress guard, attempts recorded)
with the shipped timeouts, in `hub worker` processes; a fresh SQLite database (or
--database-url's, one you can throw away) and an embedded Redis are made and removed.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from benchhub import latency_summary, paced
from webhooks import Hub, Receiver, progress

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from support.slow_servers import BlackHole, Trickle  # the tests' dead ends


def org_b_latency(
    hub: Hub, receiver: Receiver, key: str, rate: float, seconds: float
) -> dict[str, float]:
    receiver.reset()
    count = int(rate * seconds)
    paced(count, rate, lambda: hub.post_client(key))
    lags = [at - stamp for at, stamp in receiver.wait_for(count, timeout=300)]
    return latency_summary(lags)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--a-events", type=int, default=200, help="org A's events, at once")
    parser.add_argument("--rate", type=float, default=4.0, help="org B's events per second")
    parser.add_argument("--seconds", type=float, default=15.0, help="org B's run length")
    parser.add_argument("--workers", type=int, default=1, help="`hub worker` processes")
    parser.add_argument("--database-url", default=None, help="a throwaway database")
    args = parser.parse_args()

    from hub.core.embedded_redis import EmbeddedRedis

    receiver = Receiver()
    holes = [BlackHole() for _ in range(3)]
    trickles = [Trickle(interval=1.0, size=1000, headers=True) for _ in range(2)]
    with tempfile.TemporaryDirectory(prefix="hub-bench-fairness-") as folder:
        tmp = Path(folder)
        server = EmbeddedRedis(tmp / "redis.sock").start()
        try:
            hub = Hub(tmp, server.url, args.database_url)
            key_b = hub.org_with_endpoints("Busy Agency", [receiver.url("/b")])
            key_a = hub.org_with_endpoints("Dead Ends", [s.url() for s in [*holes, *trickles]])
            hub.start_workers(args.workers)
            time.sleep(2)  # the schedulers' first ticks
            progress(f"org B alone: {args.rate:g} events/s for {args.seconds:g} s")
            alone = org_b_latency(hub, receiver, key_b, args.rate, args.seconds)
            progress(f"org A: {args.a_events} events for 5 dead endpoints; org B again")
            for _ in range(args.a_events):
                hub.post_client(key_a)
            beside = org_b_latency(hub, receiver, key_b, args.rate, args.seconds)
            hub.stop_workers()
        finally:
            server.stop()
            receiver.stop()
            for dead in [*holes, *trickles]:
                dead.close()
    backend = (args.database_url or "sqlite").split(":")[0]
    count = int(args.rate * args.seconds)
    print(f"hub ({backend}), {args.workers} worker(s); org B: {count} events at {args.rate:g}/s")
    for title, row in (
        ("org B alone", alone),
        (f"org B beside org A's {args.a_events} events x 5 dead endpoints", beside),
    ):
        p50, p99, most = row["p50 ms"], row["p99 ms"], row["max ms"]
        print(f"  {title}: p50 {p50:.1f} ms, p99 {p99:.1f} ms, max {most:.1f} ms")


if __name__ == "__main__":
    main()
