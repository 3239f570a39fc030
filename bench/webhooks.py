"""Outgoing webhooks: deliveries per second from committed events to a fast loopback receiver,
with 1 and 2 `hub worker` processes and 1 and 50 endpoints, and p50/p99 latency from commit
to receipt at a steady load; beside a plain Python loop POSTing the same payloads with
keep-alive (requests.Session) to the same receiver, measured in the same run.

    .venv/bin/python bench/webhooks.py [--events 3000] [--rate 100] [--seconds 10]
                                       [--database-url URL] [--runs 1x1,1x2,50x1,50x2]
                                       [--rounds 1] [--no-latency]

- capacity: with the workers stopped, events are created through the API (client.created,
  one org per endpoint count: --events events for 1 endpoint, --events/10 for 50); then
  the workers start and the rate is deliveries / (last receipt - the moment every worker
  had registered with Redis, polled every 10 ms: before that no job can start). Every
  delivery goes the production way: outbox, dispatch, the webhooks plugin's run, its
  delivery rows, the pump (signed, through the egress guard), attempts recorded. The
  workers' CPU per delivery (user + system, from /proc) is counted over the same span.
- latency: workers running, events created at --rate per second for --seconds (1 endpoint);
  latency is the receipt time minus the event's timestamp (stamped in the request's
  transaction, just before the commit).
- baselines, right before each capacity run: the plain loop (one thread, a keep-alive
  requests.Session), and the same loop with urllib3 alone (what the pump sends with).
The receiver is an asyncio HTTP/1.1 server in a child process (keep-alive, answers 200 at
once). A fresh SQLite database (or --database-url's, one you can throw away) and an
embedded Redis are made and removed by the script.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import redis
import requests
import urllib3
from benchhub import (
    Workers,
    environment,
    latency_summary,
    migrated_settings,
    paced,
    print_latencies,
)

# ----- the receiver (a child process) -----

OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: text/plain\r\n\r\nok"
STAMP = b'"timestamp":"'


class Receiving(asyncio.Protocol):
    """Minimal HTTP/1.1: keep-alive, Content-Length bodies; GET /stats, /dump, /reset."""

    log: list[tuple[float, bytes]] = []

    def connection_made(self, transport: Any) -> None:
        self.transport = transport
        self.buffer = b""

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while (end := self.buffer.find(b"\r\n\r\n")) >= 0:
            head = self.buffer[:end]
            size = self.content_length(head)
            if len(self.buffer) < end + 4 + size:
                return
            body = self.buffer[end + 4 : end + 4 + size]
            self.buffer = self.buffer[end + 4 + size :]
            self.transport.write(self.answer(head, body))

    @staticmethod
    def content_length(head: bytes) -> int:
        at = head.lower().find(b"content-length:")
        if at < 0:
            return 0
        line_end = head.find(b"\r\n", at)
        return int(head[at + 15 : line_end if line_end >= 0 else len(head)])

    def answer(self, head: bytes, body: bytes) -> bytes:
        if head.startswith(b"POST"):
            start = body.find(STAMP) + len(STAMP)
            self.log.append((time.time(), body[start : body.find(b'"', start)]))
            return OK
        if head.startswith(b"GET /reset"):
            self.log.clear()
            return self.json({})
        if head.startswith(b"GET /dump"):
            return self.json([[at, stamp.decode()] for at, stamp in self.log])
        return self.json({"count": len(self.log)})

    @staticmethod
    def json(data: Any) -> bytes:
        raw = json.dumps(data).encode()
        return b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(raw), raw)


def serve(port_pipe: Any) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        server = await loop.create_server(Receiving, "127.0.0.1", 0, backlog=1024)
        port_pipe.send(server.sockets[0].getsockname()[1])
        await server.serve_forever()

    asyncio.run(main())


class Receiver:
    def __init__(self) -> None:
        parent, child = multiprocessing.Pipe()
        self.process = multiprocessing.get_context("fork").Process(
            target=serve, args=(child,), daemon=True
        )
        self.process.start()
        self.port = parent.recv()
        self.control = requests.Session()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def count(self) -> int:
        return int(self.control.get(self.url("/stats")).json()["count"])

    def dump(self) -> list[tuple[float, float]]:
        rows = self.control.get(self.url("/dump")).json()
        return [(at, datetime.fromisoformat(stamp).timestamp()) for at, stamp in rows]

    def reset(self) -> None:
        self.control.get(self.url("/reset"))

    def wait_for(self, count: int, timeout: float = 900) -> list[tuple[float, float]]:
        deadline = time.monotonic() + timeout
        while (seen := self.count()) < count:
            if time.monotonic() > deadline:
                raise SystemExit(f"only {seen} of {count} deliveries arrived")
            time.sleep(0.05)
        return self.dump()

    def stop(self) -> None:
        self.process.terminate()


# ----- the baseline: a plain keep-alive loop -----


HEADERS = {"Content-Type": "application/json", "webhook-id": "evt_bench"}


def plain_loop(receiver: Receiver, body: bytes, count: int) -> float:
    session = requests.Session()
    started = time.perf_counter()
    for _ in range(count):
        response = session.post(receiver.url("/plain"), data=body, headers=HEADERS, timeout=15)
        response.raise_for_status()
    return count / (time.perf_counter() - started)


def urllib3_loop(receiver: Receiver, body: bytes, count: int) -> float:
    pool = urllib3.PoolManager(retries=False, timeout=urllib3.Timeout(15))
    started = time.perf_counter()
    for _ in range(count):
        response = pool.urlopen("POST", receiver.url("/plain"), body=body, headers=HEADERS)
        assert response.status == 200
    return count / (time.perf_counter() - started)


# ----- the hub -----


class Hub:
    """A migrated database, an app, orgs with endpoints on the receiver, `hub worker`s."""

    def __init__(self, tmp: Path, redis_url: str, database_url: str | None) -> None:
        from hub.app import create_app

        self.settings = migrated_settings(
            tmp,
            redis_url,
            database_url,
            HUB_EGRESS_ALLOW_HTTP="true",
            HUB_EGRESS_ALLOWED_CIDRS="127.0.0.0/8",
        )
        self.app = create_app(self.settings)
        self.client = self.app.test_client()
        self.redis: redis.Redis = self.app.extensions["hub.redis"]
        self.workers = Workers(self.redis, environment(self.settings), tmp)
        self.created = 0

    def org_with_endpoints(self, name: str, urls: list[str]) -> str:
        """A new org whose admin key registered an endpoint for every URL; the key."""
        from hub.core.apikeys import create_api_key
        from hub.core.orgs import create_org
        from hub.extensions import db

        with self.app.app_context():
            org = create_org(db.session, name, "UTC")
            _, key = create_api_key(db.session, org.id, "admin", "bench")
            db.session.commit()
        for url in urls:
            body = {"url": url, "events": ["client.created"]}
            response = self.post("/api/integrations/webhooks", key, body)
            assert response.status_code == 201, response.json
        return key

    def post(self, path: str, key: str, body: dict[str, Any]) -> Any:
        return self.client.post(path, json=body, headers={"Authorization": f"Bearer {key}"})

    def post_client(self, key: str) -> None:
        self.created += 1
        response = self.post("/api/clients", key, {"name": f"Client {self.created}"})
        assert response.status_code == 201, response.json

    def start_workers(self, count: int) -> None:
        self.workers.start(count)

    def stop_workers(self) -> None:
        self.workers.stop()


def progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def capacity(
    hub: Hub, receiver: Receiver, key: str, endpoints: int, workers: int, events: int
) -> dict[str, float]:
    """A backlog of `events` events for `endpoints` endpoints, drained by `workers` workers."""
    progress(f"capacity: {endpoints} endpoint(s), {workers} worker(s), {events} events")
    receiver.reset()
    started = time.perf_counter()
    for _ in range(events):
        hub.post_client(key)
    post_rate = events / (time.perf_counter() - started)
    hub.start_workers(workers)
    ready, cpu = time.time(), hub.workers.cpu()
    received = receiver.wait_for(events * endpoints)
    cpu = hub.workers.cpu() - cpu
    hub.stop_workers()
    times = [at for at, _ in received]
    return {
        "deliveries/s": len(times) / (max(times) - ready),
        "cpu ms": cpu / len(times) * 1000,
        "first receipt s": min(times) - ready,
        "post/s": post_rate,
    }


def latency(
    hub: Hub, receiver: Receiver, key: str, workers: int, rate: float, seconds: float
) -> dict[str, float]:
    """Events created at a steady `rate` (1 endpoint) while `workers` workers run."""
    progress(f"latency: {workers} worker(s) at {rate:g} events/s")
    hub.start_workers(workers)
    time.sleep(2)  # the schedulers' first ticks
    receiver.reset()
    count = int(rate * seconds)
    paced(count, rate, lambda: hub.post_client(key))
    lags = [at - stamp for at, stamp in receiver.wait_for(count)]
    hub.stop_workers()
    return latency_summary(lags)


def sample_body() -> bytes:
    """A body like the hub's: the envelope of a client.created event."""
    data = {"id": 1, "name": "Client 1", "contact_person": None, "contact_email": None}
    envelope = {
        "id": "evt_01jbench0000000000000000",
        "type": "client.created",
        "timestamp": "2026-01-01T00:00:00.000000Z",
        "organization_id": 1,
        "data": {**data, "notes": None, "service_types": [], "created_at": "2026-01-01"},
    }
    return json.dumps(envelope, separators=(",", ":")).encode()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=3000, help="backlog, 1-endpoint runs")
    parser.add_argument("--rate", type=float, default=100.0, help="events/s for latency")
    parser.add_argument("--seconds", type=float, default=10.0, help="latency run length")
    parser.add_argument("--database-url", default=None, help="a throwaway database")
    parser.add_argument(
        "--runs",
        default="1x1,1x2,50x1,50x2",
        help="capacity runs, ENDPOINTSxWORKERS, comma-separated (endpoints: 1 or 50)",
    )
    parser.add_argument("--rounds", type=int, default=1, help="each capacity run this often")
    parser.add_argument("--no-latency", action="store_true", help="skip the latency runs")
    args = parser.parse_args()
    runs = [tuple(int(n) for n in run.split("x")) for run in args.runs.split(",")]

    from hub.core.embedded_redis import EmbeddedRedis

    receiver = Receiver()
    with tempfile.TemporaryDirectory(prefix="hub-bench-webhooks-") as folder:
        tmp = Path(folder)
        server = EmbeddedRedis(tmp / "redis.sock").start()
        try:
            hub = Hub(tmp, server.url, args.database_url)
            keys = {
                n: hub.org_with_endpoints(f"Bench {n}", [receiver.url(f"/e/{i}") for i in range(n)])
                for n in (1, 50)
            }
            results = []
            for _ in range(args.rounds):
                for endpoints, workers in runs:
                    events = args.events if endpoints == 1 else max(1, args.events // 10)
                    # the box is shared: the baseline is measured right before each run
                    plain = plain_loop(receiver, sample_body(), 2000)
                    bare = urllib3_loop(receiver, sample_body(), 2000)
                    row = capacity(hub, receiver, keys[endpoints], endpoints, workers, events)
                    row = {**row, "plain/s": plain, "u/s": bare}
                    results.append((endpoints, workers, events, row))
            lags = {}
            if not args.no_latency:
                lags = {
                    n: latency(hub, receiver, keys[1], n, args.rate, args.seconds) for n in (1, 2)
                }
        finally:
            server.stop()
            receiver.stop()
    backend = (args.database_url or "sqlite").split(":")[0]
    print(f"hub ({backend}), deliveries/s from committed events (workers ready to last receipt),")
    print("beside plain keep-alive POST loops to the same receiver just before:")
    for endpoints, workers, events, row in results:
        rate = row["deliveries/s"]
        print(
            f"  {endpoints:>2} endpoint(s), {workers} worker(s), {events} events: {rate:.0f}/s; "
            f"plain loop {row['plain/s']:.0f}/s: {rate / row['plain/s']:.2f}x; "
            f"urllib3 loop {row['u/s']:.0f}/s: {rate / row['u/s']:.2f}x "
            f"(first receipt after {row['first receipt s']:.2f} s; "
            f"workers' CPU {row['cpu ms']:.2f} ms per delivery)"
        )
    if lags:
        title = f"latency, commit -> receipt, 1 endpoint at {args.rate:.0f} events/s:"
        print_latencies(title, lags)


if __name__ == "__main__":
    main()
