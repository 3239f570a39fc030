"""Memory of a web process and a worker while events flow: RSS at intervals.

Starts `hub serve` with one gunicorn worker process (4 threads) and one `hub worker` on a
fresh SQLite database and the Redis at REDIS_URL (database 14, emptied before and after) or
an embedded one; an organization with a webhook endpoint on a loopback receiver (the one of
bench/webhooks.py). Then client threads create `--events` clients through the served API
(each a `client.created` event, dispatched and delivered by the worker), and every
`--every` events the script prints the resident memory (VmRSS) of the gunicorn worker and of
the `hub worker` process. Everything it starts is stopped at the end.

    .venv/bin/python bench/memory.py [--events 100000] [--every 10000] [--clients 4]
"""

from __future__ import annotations

import argparse
import itertools
import sys
import tempfile
import threading
import time
from contextlib import ExitStack
from pathlib import Path

import requests
from api import HOST, bench_redis, free_port, running, wait_ready
from benchhub import environment
from webhooks import Hub, Receiver


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(c) for c in (task / "children").read_text().split()]
    return found


def post_events(url: str, key: str, total: int, clients: int, done: list[int]) -> None:
    names, lock = itertools.count(), threading.Lock()

    def loop() -> None:
        with requests.Session() as session:
            while True:
                with lock:
                    number = next(names)
                if number >= total:
                    return
                body = {"name": f"Client {number}"}
                headers = {"Authorization": f"Bearer {key}"}
                response = session.post(f"{url}/api/clients", json=body, headers=headers)
                if response.status_code != 201:
                    raise SystemExit(f"POST /api/clients: {response.status_code} {response.text}")
                with lock:
                    done[0] += 1

    threads = [threading.Thread(target=loop) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--every", type=int, default=10_000)
    parser.add_argument("--clients", type=int, default=4)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="hub-bench-") as tmp_dir, ExitStack() as stack:
        tmp = Path(tmp_dir)
        receiver = Receiver()
        stack.callback(receiver.stop)
        hub = Hub(tmp, stack.enter_context(bench_redis(tmp)), None)
        key = hub.org_with_endpoints("Memory", [receiver.url("/hook")])
        env = environment(hub.settings, HUB_API_RATE_LIMIT="off")
        port = free_port()
        serve = ["serve", "--host", HOST, "--port", str(port), "--workers", "1", "--threads", "4"]
        web = stack.enter_context(
            running([sys.executable, "-m", "hub.cli", *serve], env, tmp / "web.log")
        )
        url = f"http://{HOST}:{port}"
        wait_ready(f"{url}/api/health")
        hub.workers.env = env
        hub.start_workers(1)
        stack.callback(hub.stop_workers)
        (web_pid,) = children(web.pid)
        (worker_pid,) = [c.pid for c in hub.workers.children]
        done = [0]
        poster = threading.Thread(
            target=post_events, args=(url, key, args.events, args.clients, done)
        )
        started = time.monotonic()
        poster.start()
        print(f"{'events':>8} {'delivered':>9} {'seconds':>8} {'web MB':>8} {'worker MB':>10}")

        def row(note: str = "") -> None:
            print(
                f"{done[0]:>8} {receiver.count():>9} {time.monotonic() - started:>8.0f} "
                f"{rss_mb(web_pid):>8.1f} {rss_mb(worker_pid):>10.1f}{note}",
                flush=True,
            )

        row()
        mark = args.every
        while poster.is_alive():
            if done[0] >= mark:
                row()
                mark += args.every
            time.sleep(0.2)
        receiver.wait_for(args.events)
        row("  (all delivered)")


if __name__ == "__main__":
    main()
