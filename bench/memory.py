"""Memory of a web process and a worker while events flow: RSS at intervals.

Starts `hub serve` with one gunicorn worker process (--threads threads) and one `hub worker`
on a fresh SQLite database (or --database-url's, one you can throw away) and the Redis at
REDIS_URL (database 14, emptied before and after) or an embedded one; an organization with
a webhook endpoint on a loopback receiver (the one of bench/webhooks.py). Then client
threads create `--events` clients through the served API (each a `client.created` event,
dispatched and delivered by the worker), and every `--every` events the script prints the
resident memory (VmRSS) of the gunicorn worker, of the `hub worker` process and of its
webhook pump's process (HUB_WEBHOOK_PUMP_PROCESS; "nan" when it pumps in a thread). The first
`--warmup` events are the warm-up: the summary gives the growth from there to the end, and
MB per 10,000 events. Everything it starts is stopped at the end.

    .venv/bin/python bench/memory.py [--events 100000] [--every 10000] [--warmup 10000]
                                     [--clients 6] [--threads 4] [--database-url URL]
                                     [--trace DIR [--heap]]

The clients are urllib3 keep-alive pools (cheaper per request than requests.Session, so
the load generator takes less of the CPU the hub needs). With --trace DIR the worker runs
under bench/traced_worker.py, which at every interval also reports the memory SQLite holds,
glibc's heap in use and held free, and the Python objects alive by type; the types grown
most between the end of the warm-up and the end are printed. --heap adds tracemalloc
snapshots and their diff (a worker traced so is several times slower and bigger: its RSS
and rates are not a plain worker's).
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import tempfile
import threading
import time
import tracemalloc
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import urllib3
from api import HOST, ROOT, bench_redis, free_port, running, wait_ready
from benchhub import children, environment
from webhooks import Hub, Receiver


def rss_mb(pid: int, field: str = "VmRSS") -> float:
    """A memory line of /proc/<pid>/status in MB: VmRSS (resident), or its parts RssAnon
    (heap, stacks, malloc arenas), RssFile (mapped files: code, libraries) and RssShmem
    (shared memory: SQLite's WAL index)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    return float("nan")


PARTS = ("RssAnon", "RssFile", "RssShmem")


def pss_mb(pid: int) -> float:
    """Proportional set size in MB: pages shared with other processes (a worker and its
    forked pump share their start-up's) counted in part, so two processes' PSS add up."""
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        if line.startswith("Pss:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def post_events(url: str, key: str, total: int, clients: int, done: list[int]) -> None:
    """`clients` threads POST /api/clients until `total` clients are created; any answer
    but 201 stops the bench."""
    names, lock = itertools.count(), threading.Lock()
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    failed: list[str] = []

    def loop() -> None:
        pool = urllib3.HTTPConnectionPool(HOST, int(url.rsplit(":", 1)[1]), maxsize=1)
        while not failed:
            with lock:
                number = next(names)
            if number >= total:
                return
            body = b'{"name": "Client %d"}' % number
            response = pool.urlopen("POST", "/api/clients", body=body, headers=headers)
            if response.status != 201:
                failed.append(f"POST /api/clients: {response.status} {response.data[:500]!r}")
                return
            with lock:
                done[0] += 1

    threads = [threading.Thread(target=loop) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failed:
        raise SystemExit(failed[0])


class Tracer:
    """Asks the worker run by bench/traced_worker.py for reports and compares them."""

    def __init__(self, folder: Path, heap: bool) -> None:
        self.folder, self.heap = folder, heap
        folder.mkdir(parents=True, exist_ok=True)

    def command(self) -> list[str]:
        script = str(ROOT / "bench" / "traced_worker.py")
        return [sys.executable, script, str(self.folder), *(["--heap"] if self.heap else [])]

    def ask(self, name: str) -> None:
        (self.folder / f"want-{name}").touch()

    def wait(self, name: str, timeout: float = 300) -> dict[str, Any]:
        path = self.folder / f"{name}.json"
        deadline = time.monotonic() + timeout
        while not path.exists():
            if time.monotonic() > deadline:
                raise SystemExit(f"the traced worker wrote no report {path}")
            time.sleep(0.1)
        found: dict[str, Any] = json.loads(path.read_text())
        return found

    def line(self, name: str) -> str:
        r = self.wait(name)
        return (
            f"   sqlite {r['sqlite_mb']:.1f} (peak {r['sqlite_high_mb']:.1f}), malloc used "
            f"{r['malloc_used_mb']:.1f} free {r['malloc_free_mb']:.1f} MB, "
            f"{r['objects']} objects, {r['threads']} threads"
        )

    def compare(self, first: str, last: str, top: int = 15) -> None:
        old, new = self.wait(first)["types"], self.wait(last)["types"]
        grown = sorted(((new[t] - old.get(t, 0), t) for t in new), reverse=True)[:top]
        print(f"\nobject types grown most from {first} to {last}:")
        for count, name in grown:
            print(f"  {count:+8d} {name} ({new[name]})")
        if self.heap:
            self.compare_heap(first, last, top)

    def compare_heap(self, first: str, last: str, top: int) -> None:
        keep = [tracemalloc.Filter(False, tracemalloc.__file__)]
        old = tracemalloc.Snapshot.load(str(self.folder / f"{first}.snap")).filter_traces(keep)
        new = tracemalloc.Snapshot.load(str(self.folder / f"{last}.snap")).filter_traces(keep)
        total = sum(s.size for s in new.statistics("filename")) / 2**20
        print(f"\ntraced heap at {last}: {total:.1f} MB; grown most since {first}:")
        for stat in new.compare_to(old, "traceback")[:top]:
            print(f"  {stat.size_diff / 1024:+9.1f} KiB {stat.count_diff:+7d} blocks")
            for line in stat.traceback.format(limit=6, most_recent_first=True):
                print(f"      {line}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--every", type=int, default=10_000)
    parser.add_argument("--warmup", type=int, default=10_000, help="events before the baseline")
    parser.add_argument("--clients", type=int, default=6)
    parser.add_argument("--threads", type=int, default=4, help="the web process's threads")
    parser.add_argument("--database-url", default=None, help="a database you can throw away")
    parser.add_argument("--trace", type=Path, default=None, help="report the worker's memory")
    parser.add_argument("--heap", action="store_true", help="with --trace: tracemalloc too")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="hub-bench-") as tmp_dir, ExitStack() as stack:
        tmp = Path(tmp_dir)
        receiver = Receiver()
        stack.callback(receiver.stop)
        hub = Hub(tmp, stack.enter_context(bench_redis(tmp))[0], args.database_url)
        key = hub.org_with_endpoints("Memory", [receiver.url("/hook")])
        env = environment(hub.settings, HUB_API_RATE_LIMIT="off")
        port = free_port()
        serve = ["serve", "--host", HOST, "--port", str(port), "--workers", "1"]
        serve += ["--threads", str(args.threads)]
        web = stack.enter_context(
            running([sys.executable, "-m", "hub.cli", *serve], env, tmp / "web.log")
        )
        url = f"http://{HOST}:{port}"
        wait_ready(f"{url}/api/health")
        tracer = Tracer(args.trace, args.heap) if args.trace else None
        hub.workers.env = env
        hub.workers.start(1, tracer.command() if tracer else None)
        stack.callback(hub.stop_workers)
        (web_pid,) = children(web.pid)
        (worker_pid,) = [c.pid for c in hub.workers.children]
        # its webhook pump, a process of its own unless HUB_WEBHOOK_PUMP_PROCESS=false
        pump_pids = children(worker_pid)
        done = [0]
        poster = threading.Thread(
            target=post_events, args=(url, key, args.events, args.clients, done)
        )
        started = time.monotonic()
        poster.start()
        print(
            f"{'events':>8} {'delivered':>9} {'seconds':>8} {'web MB':>8} {'worker MB':>10}"
            f" {'pump MB':>8}   worker anon / file / shmem MB"
        )
        rows: list[tuple[int, float, float, float]] = []
        snapshots: list[str] = []

        def row(note: str = "") -> None:
            events, web_mb, worker_mb = done[0], rss_mb(web_pid), rss_mb(worker_pid)
            pump_mb = sum(rss_mb(pid) for pid in pump_pids) if pump_pids else float("nan")
            rows.append((events, web_mb, worker_mb, pump_mb))
            parts = " / ".join(f"{rss_mb(worker_pid, f):.1f}" for f in PARTS)
            if tracer:
                snapshots.append(f"at-{events}")
                tracer.ask(snapshots[-1])
                parts += tracer.line(snapshots[-1])
            print(
                f"{events:>8} {receiver.count():>9} {time.monotonic() - started:>8.0f} "
                f"{web_mb:>8.1f} {worker_mb:>10.1f} {pump_mb:>8.1f}   {parts}{note}",
                flush=True,
            )

        row()
        mark = args.every
        while poster.is_alive():
            if done[0] >= mark:
                row("  (warm-up ends)" if mark == args.warmup else "")
                mark += args.every
            time.sleep(0.1)
        poster.join()
        receiver.wait_for(args.events)
        time.sleep(1)  # the worker's last batch finishes its bookkeeping
        row("  (all delivered)")
        base = next((r for r in rows if r[0] >= args.warmup), rows[0])
        end = rows[-1]
        per = 10_000 / max(1, end[0] - base[0])
        print(
            f"\nafter warm-up ({base[0]} -> {end[0]} events, {time.monotonic() - started:.0f} s): "
            f"web {end[1] - base[1]:+.1f} MB ({(end[1] - base[1]) * per:+.2f} MB / 10k events), "
            f"worker {end[2] - base[2]:+.1f} MB ({(end[2] - base[2]) * per:+.2f} MB / 10k events), "
            f"pump {end[3] - base[3]:+.1f} MB ({(end[3] - base[3]) * per:+.2f} MB / 10k events)"
        )
        together = [worker_pid, *pump_pids]
        print(
            f"worker and pump together at the end: RSS {sum(map(rss_mb, together)):.1f} MB, "
            f"PSS {sum(map(pss_mb, together)):.1f} MB (shared pages counted once)"
        )
        if tracer:
            first = snapshots[rows.index(base)]
            tracer.compare(first, snapshots[-1])


if __name__ == "__main__":
    main()
