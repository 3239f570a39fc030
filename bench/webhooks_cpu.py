"""Outgoing webhooks in-process: CPU, SQL statements and commits per delivery, for the
dispatch (events -> runs -> delivery rows) and for the pump (claim, sign, POST, record),
without RQ and without another process's noise in the figure.

    .venv/bin/python bench/webhooks_cpu.py [--events 3000] [--rounds 3]
                                           [--database-url URL] [--profile]

Each round: --events clients are created through the API for an org with one endpoint on
the loopback receiver of bench/webhooks.py; then, in this process, the drain job's function
runs until the events are dispatched, and the pump runs until every delivery is sent and
recorded. CPU is this process's (the receiver is a child process); statements and commits
are counted by a SQLAlchemy listener on the engine. Each round also prints the CPU per call
of the pump loop's database steps (claim, load_targets, record). --profile prints the top
functions of the last round (cProfile of the main thread and of the pump's sending threads,
each timed by its thread's CPU time, so waiting costs nothing).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import statistics
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import event
from webhooks import Hub, Receiver


class Counting:
    """Statements (by their first word), commits and pool checkouts on the app's engine."""

    def __init__(self, engine: Any) -> None:
        self.statements: Counter[str] = Counter()
        self.commits = self.checkouts = 0
        event.listen(engine, "before_cursor_execute", self._statement)
        event.listen(engine, "commit", self._commit)
        event.listen(engine, "checkout", self._checkout)

    def _statement(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        self.statements[statement.split(None, 1)[0].upper()] += 1

    def _commit(self, conn: Any) -> None:
        self.commits += 1

    def _checkout(self, *args: Any) -> None:
        self.checkouts += 1

    def take(self) -> tuple[Counter[str], int, int]:
        taken = (self.statements, self.commits, self.checkouts)
        self.statements, self.commits, self.checkouts = Counter(), 0, 0
        return taken


class Threads:
    """cProfile in the pump's sending threads too (a profiler sees its own thread only)."""

    def __init__(self) -> None:
        self.profiles: list[cProfile.Profile] = []

    def wrap(self, function: Callable[..., Any]) -> Callable[..., Any]:
        def profiled(*args: Any) -> Any:
            profile = cProfile.Profile(time.thread_time)
            self.profiles.append(profile)
            return profile.runcall(function, *args)

        return profiled


def top(profiles: list[cProfile.Profile], title: str, save: Path | None, lines: int = 30) -> None:
    out = io.StringIO()
    stats = pstats.Stats(profiles[0], stream=out)
    for more in profiles[1:]:
        stats.add(more)
    if save is not None:
        stats.dump_stats(save)
    stats.sort_stats("tottime").print_stats(lines)
    print(f"--- {title}\n{out.getvalue()}")


def stage(
    name: str, count: int, counting: Counting, action: Callable[[], None]
) -> dict[str, float]:
    counting.take()
    cpu, wall = time.process_time(), time.perf_counter()
    action()
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    statements, commits, checkouts = counting.take()
    kinds = ", ".join(f"{k} {v / count:.2f}" for k, v in sorted(statements.items()))
    print(
        f"  {name:<8} CPU {cpu / count * 1000:.3f} ms, wall {wall / count * 1000:.3f} ms, "
        f"statements {sum(statements.values()) / count:.2f} ({kinds}), "
        f"commits {commits / count:.3f}, pool checkouts {checkouts / count:.3f} per delivery"
    )
    return {"cpu": cpu / count * 1000, "wall": wall / count * 1000}


class Steps:
    """The CPU of the pump loop's database steps (claim, load_targets, record), per call:
    each is wrapped where the pump looks it up, for the whole run."""

    NAMES = ("claim", "load_targets", "record")

    def __init__(self) -> None:
        from hub.core.webhooks import pump

        self.calls: Counter[str] = Counter()
        self.cpu: Counter[str] = Counter()
        for name in self.NAMES:
            setattr(pump, name, self._timed(name, getattr(pump, name)))

    def _timed(self, name: str, function: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.thread_time()
            try:
                return function(*args, **kwargs)
            finally:
                self.calls[name] += 1
                self.cpu[name] += time.thread_time() - started

        return timed

    def report(self) -> str:
        """Each step's calls and CPU per call since the last report."""
        said = [
            f"{name} {calls} calls, {self.cpu[name] / calls * 1000:.2f} ms each"
            for name in self.NAMES
            if (calls := self.calls[name])
        ]
        self.calls, self.cpu = Counter(), Counter()
        return "; ".join(said)


class Asleep:
    """The worker's pump loop as the dispatch stage sees it: waking it does nothing."""

    def __init__(self, app: Any) -> None:
        self.app = app

    def wake(self) -> None:
        pass


def drain(app: Any, client: Any) -> None:
    """The drain job's function until no event is pending. A worker's drain job wakes its
    pump after each batch; here the pump stage sends every delivery, on its own, so the
    dispatch stage's CPU is dispatch's and the pump's figure has all the sending."""
    from hub import jobs
    from hub.core.runs import pending
    from hub.extensions import db

    pump_loop, jobs.webhooks_plugin.pump_loop = jobs.webhooks_plugin.pump_loop, Asleep
    try:
        with app.app_context():
            while client.llen(pending.PENDING):
                jobs.drain_events()
            db.session.remove()
    finally:
        jobs.webhooks_plugin.pump_loop = pump_loop


def run_pump(app: Any, wrap: Callable[..., Any] | None) -> None:
    """The pump, as the worker's pump thread runs it, until nothing is due."""
    from hub.default_plugins import webhooks as plugin
    from hub.extensions import db

    with app.app_context():
        db.session.remove()
        pump = plugin.Pump(
            db.session(),  # as the worker's pump thread passes it: resolved once
            app.extensions["hub.keyring"],
            plugin.pooled_http(app),
            plugin.settings(app),
            None,
            app.extensions.setdefault(plugin._TIMES, {}),
        )
        if wrap is not None:
            pump._send_all = wrap(pump._send_all)  # type: ignore[method-assign]
        pump.run()
        db.session.remove()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--database-url", default=None, help="a throwaway database")
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--save", default=None, help="with --profile: write .prof files here")
    args = parser.parse_args()

    from hub.core.embedded_redis import EmbeddedRedis
    from hub.extensions import db

    receiver, steps = Receiver(), Steps()
    results: dict[str, list[float]] = {"dispatch": [], "pump": []}
    with tempfile.TemporaryDirectory(prefix="hub-bench-webhooks-cpu-") as folder:
        tmp = Path(folder)
        server = EmbeddedRedis(tmp / "redis.sock").start()
        try:
            hub = Hub(tmp, server.url, args.database_url)
            key = hub.org_with_endpoints("Bench cpu", [receiver.url("/e/0")])
            app = hub.app
            with app.app_context():
                counting = Counting(db.engine)
            for round_ in range(args.rounds):
                profiling = args.profile and round_ == args.rounds - 1
                receiver.reset()
                for _ in range(args.events):
                    hub.post_client(key)
                dispatch_profile = cProfile.Profile(time.thread_time)
                main_profile, threads = cProfile.Profile(time.thread_time), Threads()

                wrap = threads.wrap if profiling else None
                stages: list[tuple[str, Callable[[], None], cProfile.Profile]] = [
                    ("dispatch", lambda: drain(app, hub.redis), dispatch_profile),
                    ("pump", lambda w=wrap: run_pump(app, w), main_profile),
                ]
                print(f"round {round_ + 1}, {args.events} deliveries:")
                for name, action, profile in stages:
                    run = (lambda a=action, p=profile: p.runcall(a)) if profiling else action
                    results[name].append(stage(name, args.events, counting, run)["cpu"])
                got = receiver.count()
                assert got == args.events, f"{got} of {args.events} deliveries arrived"
                print(f"  the pump loop's steps, CPU: {steps.report()}")
                if profiling:
                    saved = Path(args.save) if args.save else None
                    top([dispatch_profile], "dispatch", saved and saved / "dispatch.prof")
                    top([main_profile], "the pump's loop", saved and saved / "pump.prof")
                    top(threads.profiles, "the pump's threads", saved and saved / "send.prof")
        finally:
            server.stop()
            receiver.stop()
    for name, cpus in results.items():
        print(
            f"{name}: CPU ms per delivery, median {statistics.median(cpus):.3f} "
            f"(min {min(cpus):.3f}, max {max(cpus):.3f}) over {len(cpus)} rounds"
        )


if __name__ == "__main__":
    main()
