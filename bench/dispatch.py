"""Dispatch: events per second from POST /api/clients to hook calls completed in a no-op
plugin, with 1 and 2 `hub worker` processes, and p50/p99 latency from commit to hook call
at a steady load; beside RQ's own no-op job rate (SimpleWorker and the forking Worker)
measured in the same run, on the same Redis.

    .venv/bin/python bench/dispatch.py [--events 3000] [--rate 100] [--seconds 10]
                                       [--database-url URL]

- capacity: with the workers stopped, --events clients are created through the API (the
  Flask stack in this process: auth, validation, transaction, outbox, after-commit push);
  then the workers start and the rate is events / (last hook call - first hook call).
- latency: workers running, clients created at --rate per second for --seconds; latency
  is the hook call's time minus the time its request's commit returned (the bench wraps
  the app's after-commit notifier to note it).
Every event also gets a run of each always-on built-in plugin (e.g. outgoing webhooks), as
in production; runs/s counts those too. A fresh SQLite database (or --database-url's, a
database you can throw away) and an embedded Redis are made and removed by the script.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import redis
from rq import Queue, SimpleWorker, Worker
from sqlalchemy import func, select

from hub import EventInfo, PluginContext, Provider, hookimpl

PLUGIN_MODULE = "hub_bench_dispatch"  # this file, as the workers import it
CALLS = "bench:dispatch:calls"  # "<event id> <hook time>" per hook call

# ----- the no-op plugin (loaded with HUB_EXTRA_PLUGINS=noop=hub_bench_dispatch) -----


@hookimpl
def register_providers(register: Callable[[Provider], None]) -> None:
    register(Provider(name="noop", title="No-op"))


@hookimpl
def on_client_created(ctx: PluginContext, event: EventInfo, client: dict[str, Any]) -> None:
    """Nothing but one Redis push, so the bench can see when it was called."""
    ctx.redis.rpush(CALLS, f"{event.id} {time.time()}")


def noop() -> None:
    """RQ's baseline job."""


# `hub worker` minus the always-on built-in plugins (outgoing webhooks): the no-op alone.
NOOP_ONLY_WORKER = """
from hub.app import create_app
from hub.worker import run_worker
app = create_app()
plugins = app.extensions["hub.plugins"]
for name in [n for n, p in plugins.providers.items() if p.always_on]:
    plugins.remove(name)
run_worker(app)
"""


# ----- RQ's own rate -----


def rq_rate(client: redis.Redis, worker_class: type[Worker], jobs: int) -> float:
    queue = Queue("bench-rq", connection=client)
    queue.empty()
    queue.enqueue_many([Queue.prepare_data(noop, result_ttl=0) for _ in range(jobs)])
    worker = worker_class([queue], connection=client)
    started = time.perf_counter()
    worker.work(burst=True, logging_level="ERROR")
    return jobs / (time.perf_counter() - started)


# ----- the hub -----


class Hub:
    """A migrated database, an app with the no-op plugin enabled, and `hub worker`s."""

    def __init__(self, tmp: Path, redis_url: str, database_url: str | None) -> None:
        # here, not at the top: workers import this file as the no-op plugin, without bench/
        from benchhub import Workers, environment, migrated_settings

        (tmp / f"{PLUGIN_MODULE}.py").symlink_to(Path(__file__).resolve())
        sys.path.insert(0, str(tmp))
        self.settings = migrated_settings(
            tmp, redis_url, database_url, HUB_EXTRA_PLUGINS=f"noop={PLUGIN_MODULE}"
        )
        env = environment(self.settings, PYTHONPATH=str(tmp))
        self.app, self.key = self._app()
        self.client = self.app.test_client()
        self.redis: redis.Redis = self.app.extensions["hub.redis"]
        self.workers = Workers(self.redis, env, tmp)
        self.created = 0
        self.committed: dict[str, float] = {}  # event id -> when its commit returned
        notify = self.app.extensions["hub.on_events_committed"]

        def noted(event_ids: list[str]) -> None:
            at = time.time()
            self.committed.update(dict.fromkeys(event_ids, at))
            notify(event_ids)

        self.app.extensions["hub.on_events_committed"] = noted

    def _app(self) -> tuple[Any, str]:
        from hub.app import create_app
        from hub.core.apikeys import create_api_key
        from hub.core.connections import integrations
        from hub.core.orgs import create_org
        from hub.extensions import db

        app = create_app(self.settings)
        with app.app_context():
            org = create_org(db.session, "Bench Agency", "UTC")
            _, key = create_api_key(db.session, org.id, "admin", "bench")
            plugins, keyring = app.extensions["hub.plugins"], app.extensions["hub.keyring"]
            integrations.enable(db.session, plugins.providers, keyring, org.id, "noop", {})
            db.session.commit()
        return app, key

    def post_client(self) -> None:
        self.created += 1
        response = self.client.post(
            "/api/clients",
            json={"name": f"Client {self.created}"},
            headers={"Authorization": f"Bearer {self.key}"},
        )
        assert response.status_code == 201, response.json

    def start_workers(self, count: int, builtins: bool = True) -> None:
        """`hub worker` processes; without `builtins`, workers whose only plugin is no-op."""
        self.workers.start(count, None if builtins else [sys.executable, "-c", NOOP_ONLY_WORKER])

    def stop_workers(self) -> None:
        self.workers.stop()

    def runs(self) -> int:
        from hub.core.models import Run
        from hub.extensions import db

        with self.app.app_context():
            count = db.session.scalar(select(func.count()).select_from(Run)) or 0
            db.session.remove()
            return count

    def calls(self) -> dict[str, float]:
        """{event id: when its hook was called} (the first call, should one repeat)."""
        found: dict[str, float] = {}
        for raw in self.redis.lrange(CALLS, 0, -1):
            event_id, at = raw.decode().split()
            found.setdefault(event_id, float(at))
        return found

    def wait_for_calls(self, count: int, timeout: float = 600) -> dict[str, float]:
        deadline = time.monotonic() + timeout
        while self.redis.llen(CALLS) < count:
            if time.monotonic() > deadline:
                raise SystemExit(f"only {self.redis.llen(CALLS)} of {count} hook calls arrived")
            time.sleep(0.05)
        return self.calls()


def capacity(hub: Hub, workers: int, events: int, builtins: bool) -> dict[str, float]:
    """A backlog of `events` created through the API, drained by `workers` workers; RQ's
    SimpleWorker rate is measured right before, so both see the same machine load."""
    hub.redis.delete(CALLS)
    runs_before = hub.runs()
    started = time.perf_counter()
    for _ in range(events):
        hub.post_client()
    post_rate = events / (time.perf_counter() - started)
    rq = rq_rate(hub.redis, SimpleWorker, 1000)
    hub.start_workers(workers, builtins)
    calls = hub.wait_for_calls(events).values()
    first, last = min(calls), max(calls)
    runs = hub.runs() - runs_before
    hub.stop_workers()
    return {
        "post/s": post_rate,
        "events/s": events / (last - first),
        "runs/event": runs / events,
        "rq/s": rq,
    }


def latency(hub: Hub, workers: int, rate: float, seconds: float) -> dict[str, float]:
    """Clients created at a steady `rate` while `workers` workers run."""
    hub.start_workers(workers)
    time.sleep(2)  # let the schedulers' first sweeps pass
    hub.redis.delete(CALLS)
    from benchhub import latency_summary, paced  # see Hub.__init__

    count = int(rate * seconds)
    paced(count, rate, hub.post_client)
    called = hub.wait_for_calls(count)
    lags = [at - hub.committed[event_id] for event_id, at in called.items()]
    hub.stop_workers()
    return latency_summary(lags)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=3000, help="backlog size per run")
    parser.add_argument("--rate", type=float, default=100.0, help="events/s for latency")
    parser.add_argument("--seconds", type=float, default=10.0, help="latency run length")
    parser.add_argument("--database-url", default=None, help="a throwaway database")
    args = parser.parse_args()

    from hub.core.embedded_redis import EmbeddedRedis

    with tempfile.TemporaryDirectory(prefix="hub-bench-") as folder:
        tmp = Path(folder)
        server = EmbeddedRedis(tmp / "redis.sock").start()
        try:
            client = redis.Redis.from_url(server.url)
            simple = rq_rate(client, SimpleWorker, 1000)
            forking = rq_rate(client, Worker, 300)
            hub = Hub(tmp, server.url, args.database_url)
            results = {
                (builtins, n): capacity(hub, n, args.events, builtins)
                for builtins in (False, True)
                for n in (1, 2)
            }
            lags = {n: latency(hub, n, args.rate, args.seconds) for n in (1, 2)}
        finally:
            server.stop()
    backend = (args.database_url or "sqlite").split(":")[0]
    print(f"RQ no-op jobs/s, one process: SimpleWorker {simple:.0f}, forking Worker {forking:.0f}")
    print(f"hub ({backend}), backlog of {args.events} events from POST /api/clients:")
    for (builtins, n), row in results.items():
        label = "no-op + built-ins" if builtins else "no-op plugin only"
        print(
            f"  {label}, {n} worker(s): {row['events/s']:.0f} events/s to hook calls, "
            f"{row['events/s'] / row['rq/s']:.1f}x RQ SimpleWorker's {row['rq/s']:.0f} jobs/s "
            f"measured just before; {row['runs/event']:.0f} run(s)/event; "
            f"the API created {row['post/s']:.0f} clients/s"
        )
    from benchhub import print_latencies  # see Hub.__init__

    title = f"latency, no-op + built-ins, commit -> hook called, at {args.rate:.0f} events/s:"
    print_latencies(title, lags)


if __name__ == "__main__":
    main()
