"""Scale: the cost per event (dispatch and webhook delivery) with 10,000 organizations against
the same load with 10, as a ratio measured in one run, and the query plans of the hot
statements at the large size. PostgreSQL only.

    .venv/bin/python bench/scale.py --database-url postgresql://postgres@127.0.0.1:5432/test
                                    [--orgs 10000] [--clients 10] [--events 200] [--rounds 3]

Each size gets a schema of its own in that database (made, migrated and dropped by the
script) and an embedded Redis. Every organization has `--clients` clients and an
integration of every installed plugin, enabled, plus a webhook endpoint; each client has a
`client.created` event from the last 60 days, dispatched, with a succeeded run per
integration, a delivered webhook (its attempt) and a usage record, as a hub that has been
running a while has. The 10 measured organizations (the same 10 in both sizes) have only
their outgoing webhooks enabled and their endpoint on a loopback receiver, so each event
costs the same work in both: `--events` clients created through the API (the Flask stack
in this process), then dispatch, the webhooks run and its delivery by a real worker
(`hub.testing.run_jobs`, in this process), until the receiver has every delivery. Sizes
take turns, `--rounds` times; the median round of each is compared. The ratio the goal is
set for is the dispatch and delivery's (the worker's part); the API's create (one request
per event, in this process) is printed beside it.

Then, on the large size, every statement the rounds ran against runs, events,
webhook_deliveries, usage_records and integrations, plus a scrape of /metrics and one
retention pass, is EXPLAINed: a sequential scan of one of those tables is flagged.
"""

from __future__ import annotations

import argparse
import json
import re
import secrets
import statistics
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from benchhub import migrated_settings
from sqlalchemy import Engine, create_engine, event, text

from hub.app import create_app
from hub.config import database_url
from hub.core import clock, retention
from hub.core.apikeys import create_api_key
from hub.core.embedded_redis import EmbeddedRedis
from hub.extensions import db
from hub.plugins import get_plugins
from hub.testing import run_jobs

MEASURED = 10
HOT_TABLES = ("runs", "events", "webhook_deliveries", "usage_records", "integrations")
IN_LIST = re.compile(r"\((?:%\(\w+\)s(?:::[A-Z ]+)?(?:, )?)+\)")
FLAGGED = ("runs", "events", "webhook_deliveries", "usage_records")


class Receiver:
    """A loopback webhook receiver that counts what it was sent."""

    def __init__(self) -> None:
        self.count = 0
        lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with lock:
                    receiver.count += 1
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"


# ----- seeding -----

SEED = [
    """INSERT INTO organizations (name, slug, timezone, due_soon_hours, created_at, updated_at)
       SELECT 'Org ' || g, 'org-' || g, 'UTC', 24, :start, :start
       FROM generate_series(1, :orgs) AS g""",
    """INSERT INTO clients (name, org_id, created_at, updated_at)
       SELECT 'Client ' || c, o.id, o.created_at, o.created_at
       FROM organizations o CROSS JOIN generate_series(1, :clients) AS c""",
    """INSERT INTO integrations (plugin, enabled, status, config, secrets, consecutive_errors,
                                 org_id, created_at, updated_at, connected_at)
       SELECT p, true, 'enabled', '{}', '{}', 0, o.id, o.created_at, o.created_at, o.created_at
       FROM organizations o CROSS JOIN unnest(CAST(:plugins AS text[])) AS p""",
    """INSERT INTO webhook_endpoints (url, description, events, enabled, secret,
                                      previous_secrets, org_id, created_at, updated_at)
       SELECT 'https://hooks.example.com/' || o.id, '', '["*"]', true, '', '[]', o.id,
              o.created_at, o.created_at
       FROM organizations o""",
    """INSERT INTO events (id, type, payload, created_at, dispatched_at, org_id)
       SELECT 'evt_seed_' || c.id, 'client.created',
              json_build_object('client', json_build_object('id', c.id, 'name', c.name)),
              at, at, c.org_id
       FROM (SELECT c.*, CAST(:now AS timestamp) - random() * interval '60 days' AS at
             FROM clients c) AS c""",
    """INSERT INTO runs (event_id, integration_id, plugin, event_type, state, attempts,
                         next_attempt_at, created_at, updated_at, finished_at, org_id)
       SELECT e.id, i.id, i.plugin, e.type, 'succeeded', 1, e.created_at, e.created_at,
              e.created_at, e.created_at + interval '1 second', e.org_id
       FROM events e JOIN integrations i ON i.org_id = e.org_id""",
    """INSERT INTO webhook_deliveries (endpoint_id, event_id, event_type, body, state, attempts,
                                       manual, last_status, created_at, updated_at,
                                       finished_at, org_id)
       SELECT w.id, e.id, e.type, '{}', 'succeeded', 1, false, 200, e.created_at,
              e.created_at, e.created_at + interval '1 second', e.org_id
       FROM events e JOIN webhook_endpoints w ON w.org_id = e.org_id""",
    """INSERT INTO webhook_attempts (delivery_id, attempt, trigger, attempted_at, status_code,
                                     duration_ms, org_id)
       SELECT d.id, 1, 'schedule', d.created_at, 200, 50, d.org_id FROM webhook_deliveries d""",
    """INSERT INTO usage_records (uid, plugin, feature, method, status, ok, duration_ms, bytes,
                                  created_at, hour, org_id)
       SELECT md5(CAST(d.id AS text)), 'webhooks', 'delivery', 'POST', 200, true, 50, 100,
              d.created_at, CAST(extract(hour FROM d.created_at) AS integer), d.org_id
       FROM webhook_deliveries d""",
]


def seed(engine: Engine, orgs: int, clients: int, plugins: list[str]) -> float:
    """The history of `orgs` organizations, written by SQL; seconds it took."""
    now = clock.now().replace(tzinfo=None)
    params = {
        "orgs": orgs,
        "clients": clients,
        "plugins": plugins,
        "now": now,
        "start": now - timedelta(days=90),
    }
    started = time.perf_counter()
    with engine.begin() as conn:
        for statement in SEED:
            conn.execute(text(statement), params)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("ANALYZE"))
    return time.perf_counter() - started


# ----- one size -----


class Size:
    """A hub on its own schema and Redis, seeded with `orgs` organizations."""

    def __init__(self, args: argparse.Namespace, orgs: int, tmp: Path, receiver: Receiver):
        self.orgs = orgs
        self.schema = f"hub_scale_{orgs}_{secrets.token_hex(3)}"
        base = database_url(args.database_url)
        self.admin = create_engine(base)
        with self.admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{self.schema}"'))
        sep = "&" if "?" in base else "?"
        url = f"{base}{sep}options=-csearch_path%3D{self.schema}"
        folder = tmp / self.schema
        folder.mkdir()
        self.redis = EmbeddedRedis(folder / "redis.sock").start()
        settings = migrated_settings(
            folder,
            self.redis.url,
            url,
            HUB_EGRESS_ALLOW_HTTP="1",
            HUB_EGRESS_ALLOWED_CIDRS="127.0.0.1/32",
        )
        self.app = create_app(settings)
        self.engine = create_engine(url)
        plugins = sorted(get_plugins(self.app).providers)
        self.seconds_to_seed = seed(self.engine, orgs, args.clients, plugins)
        self.keys = self._measured_orgs(receiver)
        self.client = self.app.test_client()
        self.made = 0

    def _measured_orgs(self, receiver: Receiver) -> list[str]:
        """The 10 measured organizations: outgoing webhooks only, to the receiver."""
        keys = []
        with self.app.app_context():
            ids = list(db.session.scalars(text("SELECT id FROM organizations ORDER BY id")))
            for org_id in ids[:MEASURED]:
                db.session.execute(
                    text(
                        "UPDATE integrations SET enabled = false, status = 'disabled' "
                        "WHERE org_id = :org AND plugin <> 'webhooks'"
                    ),
                    {"org": org_id},
                )
                db.session.execute(
                    text("DELETE FROM webhook_endpoints WHERE org_id = :org"), {"org": org_id}
                )
                keys.append(create_api_key(db.session, org_id, "admin", "bench")[1])
            db.session.commit()
            db.session.remove()
        for key in keys:
            endpoint = {"url": receiver.url, "events": ["client.created"]}
            answer = self.app.test_client().post(
                "/api/integrations/webhooks", json=endpoint, headers=self._auth(key)
            )
            assert answer.status_code == 201, answer.get_json()
        return keys

    @staticmethod
    def _auth(key: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {key}"}

    def round(self, events: int, receiver: Receiver) -> tuple[float, float]:
        """(API seconds, dispatch + delivery seconds) for `events` new clients."""
        expected = receiver.count + events
        started = time.perf_counter()
        for n in range(events):
            key = self.keys[n % len(self.keys)]
            self.made += 1
            answer = self.client.post(
                "/api/clients", json={"name": f"Bench {self.made}"}, headers=self._auth(key)
            )
            assert answer.status_code == 201, answer.get_json()
        created = time.perf_counter()
        deadline = time.monotonic() + 600
        while receiver.count < expected:
            run_jobs(self.app, max_rounds=1000)
            if time.monotonic() > deadline:
                raise SystemExit(f"{expected - receiver.count} deliveries never arrived")
        return created - started, time.perf_counter() - created

    def close(self) -> None:
        with self.app.app_context():
            db.session.remove()
            db.engine.dispose()
        self.engine.dispose()
        self.redis.stop()
        with self.admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{self.schema}" CASCADE'))
        self.admin.dispose()


# ----- statements and their plans -----


def shape(statement: str) -> str:
    """The statement with its IN lists as (...): one shape whatever their length."""
    return IN_LIST.sub("(...)", statement)


@contextmanager
def captured(engine: Engine) -> Iterator[dict[str, Any]]:
    """Every distinct statement run on `engine` meanwhile that reads the hot tables."""
    found: dict[str, Any] = {}

    def note(conn: Any, cursor: Any, statement: str, params: Any, context: Any, many: bool):
        if many or not re.match(r"\s*(SELECT|UPDATE|DELETE|WITH)", statement, re.I):
            return
        if any(re.search(rf"\b{table}\b", statement) for table in HOT_TABLES):
            found.setdefault(shape(statement), (statement, params))

    event.listen(engine, "before_cursor_execute", note)
    try:
        yield found
    finally:
        event.remove(engine, "before_cursor_execute", note)


@contextmanager
def timed(engine: Engine) -> Iterator[dict[str, list[float]]]:
    """Seconds spent in each distinct statement on `engine` meanwhile: [total, count]."""
    found: dict[str, list[float]] = {}
    started: list[float] = []

    def before(*_: Any) -> None:
        started.append(time.perf_counter())

    def after(conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        entry = found.setdefault(shape(statement), [0, 0])
        entry[0] += time.perf_counter() - started.pop()
        entry[1] += 1

    event.listen(engine, "before_cursor_execute", before)
    event.listen(engine, "after_cursor_execute", after)
    try:
        yield found
    finally:
        event.remove(engine, "before_cursor_execute", before)
        event.remove(engine, "after_cursor_execute", after)


def report_growth(by_size: dict[int, dict[str, list[float]]], events: int) -> None:
    """The statements whose time per event grew most from the small size to the large."""
    (small, few), (large, many) = sorted(by_size.items())
    growth = {sql: (many[sql][0] - few.get(sql, [0.0, 0])[0]) / events for sql in many}
    print(f"statements whose time per event grew most from {small} to {large} orgs:")
    for sql, grew in sorted(growth.items(), key=lambda item: -item[1])[:8]:
        before = few.get(sql, [0.0, 0])
        print(
            f"  +{grew * 1000:.2f} ms/event ({before[0] / events * 1000:.2f} -> "
            f"{many[sql][0] / events * 1000:.2f}, {many[sql][1]} calls) {one_line(sql)}"
        )


def plans(engine: Engine, statements: dict[str, Any]) -> list[tuple[str, list[str], str]]:
    """(statement, the flagged tables it scans sequentially, its plan) for each."""
    found = []
    with engine.connect() as conn:
        for statement, params in statements.values():
            plan = "\n".join(row[0] for row in conn.exec_driver_sql(f"EXPLAIN {statement}", params))
            seq = sorted({t for t in re.findall(r"Seq Scan on (\w+)", plan) if t in FLAGGED})
            found.append((statement, seq, plan))
        conn.rollback()
    return found


def retention_and_scrape(size: Size) -> None:
    """One /metrics scrape and a retention pass of at most 20 s (their statements count)."""
    assert size.client.get("/metrics").status_code == 200
    with size.app.app_context():
        budget = time.monotonic() + 20
        counts = retention.prune(
            db.session, clock.now(), timedelta(days=30), stop=lambda: time.monotonic() > budget
        )
        db.session.remove()
    print(f"  retention pass (<= 20 s) on {size.orgs} orgs deleted: {json.dumps(counts)}")


def one_line(statement: str) -> str:
    return re.sub(r"\s+", " ", statement).strip()[:160]


# ----- main -----


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True, help="PostgreSQL you can write to")
    parser.add_argument("--orgs", type=int, default=10_000)
    parser.add_argument("--clients", type=int, default=10)
    parser.add_argument("--events", type=int, default=200, help="events per round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--plans", action="store_true", help="print every plan in full")
    args = parser.parse_args()

    receiver = Receiver()
    with tempfile.TemporaryDirectory(prefix="hub-scale-") as folder:
        small = large = None
        try:
            small = Size(args, MEASURED, Path(folder), receiver)
            large = Size(args, args.orgs, Path(folder), receiver)
            for size in (small, large):
                print(f"seeded {size.orgs} orgs in {size.seconds_to_seed:.1f} s")
                size.round(20, receiver)  # warm-up: connections, caches, first plans
            rounds: dict[int, list[tuple[float, float]]] = {small.orgs: [], large.orgs: []}
            engines = {}
            for size in (small, large):
                with size.app.app_context():
                    engines[size.orgs] = db.engine
            with (
                captured(engines[large.orgs]) as statements,
                timed(engines[small.orgs]) as small_times,
                timed(engines[large.orgs]) as large_times,
            ):
                for _ in range(args.rounds):
                    for size in (small, large):
                        rounds[size.orgs].append(size.round(args.events, receiver))
            with captured(engines[large.orgs]) as upkeep:
                retention_and_scrape(large)
            statements.update(upkeep)
            report(args, rounds, small.orgs, large.orgs)
            times = {small.orgs: small_times, large.orgs: large_times}
            report_growth(times, args.events * args.rounds)
            report_plans(plans(large.engine, statements), args.plans)
        finally:
            for size in (small, large):
                if size is not None:
                    size.close()
            receiver.server.shutdown()
            receiver.server.server_close()


def report(
    args: argparse.Namespace, rounds: dict[int, list[tuple[float, float]]], small: int, large: int
) -> None:
    print(
        f"cost per event ({args.events} events per round, {args.rounds} rounds, median; "
        f"10 measured orgs with outgoing webhooks, every org {args.clients} clients):"
    )
    api, work = {}, {}
    for orgs, measured in rounds.items():
        api[orgs] = statistics.median(a for a, _ in measured) / args.events * 1000
        work[orgs] = statistics.median(w for _, w in measured) / args.events * 1000
        print(
            f"  {orgs:>6} orgs: dispatch + webhook delivery {work[orgs]:.2f} ms/event; "
            f"the API's create before it {api[orgs]:.2f} ms/event"
        )
    ratio = work[small] / work[large]
    print(
        f"ratio, dispatch + webhook delivery (cost at {small} orgs / cost at {large} orgs): "
        f"{ratio:.2f} (goal >= 0.9: {'met' if ratio >= 0.9 else 'NOT met'})"
    )
    print(f"ratio, the API's create: {api[small] / api[large]:.2f}")


def report_plans(found: list[tuple[str, list[str], str]], full: bool) -> None:
    flagged = [item for item in found if item[1]]
    print(
        f"query plans at the large size: {len(found)} hot statements EXPLAINed, "
        f"{len(flagged)} with a sequential scan on {', '.join(FLAGGED)}"
    )
    for statement, seq, plan in found if full else flagged:
        print(f"  [{'SEQ SCAN ' + ','.join(seq) if seq else 'ok'}] {one_line(statement)}")
        for line in plan.splitlines():
            print(f"    {line[:200]}{' ...' if len(line) > 200 else ''}")


if __name__ == "__main__":
    main()
