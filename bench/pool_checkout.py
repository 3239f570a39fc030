"""What a PostgreSQL connection costs to take from the pool: SQLAlchemy's pre-ping (a
``SELECT 1`` round trip each time) beside the hub's ``watch_pool`` (a look at the socket; a
ping only when the server wrote to it), and the pool alone.

    .venv/bin/python bench/pool_checkout.py [--database-url URL] [--checkouts 3000]
                                            [--rounds 5]

The ways take turns, --rounds times; each line is the median over the rounds of the CPU
and wall microseconds per checkout and return, on one idle connection.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

from sqlalchemy import Engine, create_engine, text

from hub.core.db import watch_pool


def engines(url: str) -> dict[str, Engine]:
    watched = create_engine(url)
    watch_pool(watched)
    return {
        "pre-ping": create_engine(url, pool_pre_ping=True),
        "watch_pool": watched,
        "no check": create_engine(url),
    }


def per_checkout(engine: Engine, count: int) -> tuple[float, float]:
    cpu, wall = time.process_time(), time.perf_counter()
    for _ in range(count):
        with engine.connect():
            pass
    return (time.process_time() - cpu) / count * 1e6, (time.perf_counter() - wall) / count * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default="postgresql+psycopg://postgres@127.0.0.1/test")
    parser.add_argument("--checkouts", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    ways = engines(args.database_url)
    for engine in ways.values():  # one connection each, made before anything is timed
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    timed: dict[str, list[tuple[float, float]]] = {name: [] for name in ways}
    for _ in range(args.rounds):
        for name, engine in ways.items():
            timed[name].append(per_checkout(engine, args.checkouts))
    median: Callable[[list[float]], float] = statistics.median
    print(f"per checkout, median of {args.rounds} rounds of {args.checkouts}:")
    for name, runs in timed.items():
        cpu, wall = median([c for c, _ in runs]), median([w for _, w in runs])
        print(f"  {name:<11} CPU {cpu:6.1f} us, wall {wall:6.1f} us")
    for engine in ways.values():
        engine.dispose()


if __name__ == "__main__":
    main()
