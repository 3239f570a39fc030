"""CPU per API request in-process (the Flask test client, no server, no other load's noise):
`POST /api/clients` and `GET /api/clients?limit=50`, with the key lookup, the rate limit in
Redis (REDIS_URL's database 13, emptied before and after) and a fresh SQLite database (or
--database-url's, one you can throw away).

    REDIS_URL=redis://127.0.0.1:6379/0 .venv/bin/python bench/api_cpu.py [--requests 500]
                                                                 [--database-url URL]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import redis
from benchhub import hub_with_test_client
from sqlalchemy import event

from hub.extensions import db


def per_request(action: Callable[[], None], count: int) -> tuple[float, float]:
    """CPU and wall milliseconds per call of `action`."""
    cpu, wall = time.process_time(), time.perf_counter()
    for _ in range(count):
        action()
    return (time.process_time() - cpu) / count * 1000, (time.perf_counter() - wall) / count * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--database-url", default=None, help="a throwaway database")
    args = parser.parse_args()
    url = urlunsplit(urlsplit(os.environ["REDIS_URL"])._replace(path="/13"))
    redis.Redis.from_url(url).flushdb()
    with tempfile.TemporaryDirectory(prefix="hub-bench-") as tmp:
        limit = "100000000/minute"
        app, client, headers = hub_with_test_client(
            Path(tmp), url, args.database_url, HUB_API_RATE_LIMIT=limit
        )
        names = iter(range(10**9))

        def post() -> None:
            body = {"name": f"Client {next(names)}", "contact_email": "ops@client.example"}
            assert client.post("/api/clients", json=body, headers=headers).status_code == 201

        def get() -> None:
            assert client.get("/api/clients?limit=50", headers=headers).status_code == 200

        checkouts: list[None] = []  # pool checkouts: each paid a round trip under pre-ping
        with app.app_context():
            event.listen(db.engine, "checkout", lambda *_: checkouts.append(None))
        per_request(post, 100)  # warm-up, and 100 clients for the pages
        for name, action in (("POST /api/clients", post), ("GET /api/clients?limit=50", get)):
            checkouts.clear()
            cpu, wall = per_request(action, args.requests)
            print(
                f"{name:<28} CPU {cpu:5.2f} ms, wall {wall:5.2f} ms, "
                f"pool checkouts {len(checkouts) / args.requests:.2f} per request"
            )
    redis.Redis.from_url(url).flushdb()


if __name__ == "__main__":
    main()
