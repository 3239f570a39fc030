"""The garbage collector's full collections in a hub process, with what start-up made left
in their way and with it frozen (``hub.core.heap.settle``, as ``hub serve``'s workers and
``hub worker`` do).

    REDIS_URL=redis://127.0.0.1:6379/0 .venv/bin/python bench/gc_pause.py [--requests 6000]

Each variant runs in a fresh process: the app on a new SQLite database (the Flask test
client, Redis database 13 emptied before and after), 300 clients made, then --requests
requests, `GET /api/clients?limit=50` and `POST /api/clients` in turn. Prints the objects
the collector tracks once the app is warm, the collections of each generation with the
longest and the total pause (timed by ``gc.callbacks``), and the requests' latency.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import redis
from benchhub import hub_with_test_client


class Pauses:
    """Each collection's duration by generation (milliseconds), from ``gc.callbacks``."""

    def __init__(self) -> None:
        self.by_generation: dict[int, list[float]] = {0: [], 1: [], 2: []}
        self._started = 0.0

    def __call__(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        else:
            elapsed = (time.perf_counter() - self._started) * 1000
            self.by_generation[info["generation"]].append(elapsed)


def variant(settle: bool, requests: int, redis_url: str) -> dict[str, Any]:
    from hub.core import heap

    with tempfile.TemporaryDirectory(prefix="hub-bench-") as tmp:
        _, client, headers = hub_with_test_client(Path(tmp), redis_url)
        for n in range(300):
            client.post("/api/clients", json={"name": f"Client {n}"}, headers=headers)
        frozen = heap.settle() if settle else 0
        tracked = len(gc.get_objects())
        pauses = Pauses()
        gc.callbacks.append(pauses)
        latencies = []
        for n in range(requests):
            began = time.perf_counter()
            if n % 2:
                body = {"name": f"Other {n}"}
                assert client.post("/api/clients", json=body, headers=headers).status_code == 201
            else:
                assert client.get("/api/clients?limit=50", headers=headers).status_code == 200
            latencies.append((time.perf_counter() - began) * 1000)
        gc.callbacks.remove(pauses)
    latencies.sort()
    return {
        "frozen": frozen,
        "tracked": tracked,
        "pauses": pauses.by_generation,
        "p50": latencies[len(latencies) // 2],
        "p99": latencies[int(0.99 * (len(latencies) - 1))],
        "max": latencies[-1],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=6000)
    parser.add_argument("--variant", choices=("as-started", "settled"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    url = urlunsplit(urlsplit(os.environ["REDIS_URL"])._replace(path="/13"))
    if args.variant:  # the child: one variant, its figures as JSON
        print(json.dumps(variant(args.variant == "settled", args.requests, url)))
        return
    for name in ("as-started", "settled"):
        redis.Redis.from_url(url).flushdb()
        command = [sys.executable, __file__, "--variant", name, "--requests", str(args.requests)]
        found = json.loads(subprocess.run(command, check=True, capture_output=True).stdout)
        tracked, frozen = found["tracked"], found["frozen"]
        print(f"{name}: {tracked} objects in the collector's generations, {frozen} frozen")
        for generation, pauses in sorted(found["pauses"].items()):
            longest = max(pauses, default=0.0)
            print(
                f"  generation {generation}: {len(pauses):4d} collections, "
                f"longest {longest:6.2f} ms, all {sum(pauses):7.1f} ms"
            )
        print(
            f"  {args.requests} requests: p50 {found['p50']:.2f} ms, p99 {found['p99']:.2f} ms, "
            f"max {found['max']:.2f} ms"
        )
    redis.Redis.from_url(url).flushdb()


if __name__ == "__main__":
    main()
