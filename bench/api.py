"""Throughput and latency of the REST API under the production server, beside a bare Flask app.

Starts `hub serve` (gunicorn) on a free loopback port against a fresh SQLite database and the
Redis at REDIS_URL (its database 14, emptied before and after) or an embedded Redis; creates an
organization and an admin key with the `hub` CLI; serves bench/bare_app.py with the same
gunicorn settings; then drives each with concurrent keep-alive clients and prints a table.
Everything it starts is stopped at the end.

    .venv/bin/python bench/api.py [--seconds 10] [--clients 16] [--workers N] [--threads 4]
                                  [--load 0.5] [--rounds 1]

With --rounds N the closed-loop part runs N times, the endpoints taking turns (bare, POST,
GET, bare, ...; --seconds each), so that a change in the machine's speed falls on all of
them; the table sums the rounds, and each hub endpoint's ratio is printed per round too.

With --load (default 0.5), each hub endpoint is then driven open loop at that share of the
req/s just measured, and its rows show the latency at that load (p99 from when each request
was due).

For each closed-loop row it also prints the CPU each request cost, in milliseconds: the
server's worker processes, this process (the load generator: 16 threads of `requests`
under one interpreter lock) and the embedded Redis (not measured with REDIS_URL), and how
busy that kept the machine's CPUs. The ratios are of whole requests, load generator
included.
"""

from __future__ import annotations

import argparse
import itertools
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import redis
import requests
from benchhub import cpu_seconds

from hub.core.embedded_redis import EmbeddedRedis

ROOT = Path(__file__).resolve().parents[1]
HOST = "127.0.0.1"
BENCH_REDIS_DB = 14
MAX_REQUESTS_PER_CLIENT = 200_000  # a bound besides the clock

Send = Callable[[requests.Session, str], requests.Response]


@dataclass
class Result:
    name: str
    seconds: float
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    cpu: dict[str, float] = field(default_factory=dict)  # part -> CPU seconds spent in all

    @property
    def rps(self) -> float:
        return len(self.latencies) / self.seconds

    def percentile(self, fraction: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[int(fraction * (len(ordered) - 1))] * 1000 if ordered else float("nan")


# ----- processes -----


@dataclass
class Parts:
    """The processes whose CPU a closed-loop row reports: the servers' masters and Redis."""

    servers: dict[str, int]  # URL -> gunicorn master pid
    redis: int | None

    def pids(self, url: str) -> dict[str, list[int]]:
        master = next(pid for base, pid in self.servers.items() if url.startswith(base))
        children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
        found = {"server": [int(pid) for pid in children], "load": [os.getpid()]}
        if self.redis is not None:
            found["redis"] = [self.redis]
        return found


def cpu_of(pids: dict[str, list[int]]) -> dict[str, float]:
    return {part: sum(cpu_seconds(pid) for pid in group) for part, group in pids.items()}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def hub_cli(env: dict[str, str], *args: str) -> str:
    command = [sys.executable, "-m", "hub.cli", *args]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        raise SystemExit(f"hub {' '.join(args)} failed:\n{done.stderr}")
    return done.stdout.strip()


@contextmanager
def running(
    command: list[str], env: dict[str, str], log: Path
) -> Iterator[subprocess.Popen[bytes]]:
    """A child process group (gunicorn and its workers), stopped on the way out."""
    with log.open("w") as sink:
        child = subprocess.Popen(command, env=env, stdout=sink, stderr=sink, start_new_session=True)
    try:
        yield child
    finally:
        _stop_group(child)


def _stop_group(child: subprocess.Popen[bytes]) -> None:
    if child.poll() is None:
        os.killpg(child.pid, signal.SIGTERM)
        try:
            child.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(child.pid, signal.SIGKILL)
            child.wait()


def wait_ready(url: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if requests.get(url, timeout=2).status_code == 200:
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"{url} did not answer within {timeout}s")


@contextmanager
def bench_redis(tmp: Path) -> Iterator[tuple[str, int | None]]:
    """REDIS_URL's database 14, emptied before and after; else an embedded server. The
    URL, and the embedded server's pid."""
    url = os.environ.get("REDIS_URL")
    if not url or url.startswith("unix"):
        server = EmbeddedRedis(tmp / "redis.sock").start()
        try:
            yield server.url, server.process.pid if server.process else None
        finally:
            server.stop()
        return
    url = urlunsplit(urlsplit(url)._replace(path=f"/{BENCH_REDIS_DB}"))
    client = redis.Redis.from_url(url)
    client.flushdb()
    try:
        yield url, None
    finally:
        client.flushdb()
        client.close()


# ----- load -----


def drive(name: str, url: str, send: Send, expected: int, clients: int, seconds: float) -> Result:
    """`clients` threads, each with its own keep-alive session, sending until the time is up."""
    result = Result(name, seconds)
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def client_loop() -> None:
        latencies, errors = [], 0
        with requests.Session() as session:
            for _ in range(MAX_REQUESTS_PER_CLIENT):
                if time.monotonic() >= deadline:
                    break
                start = time.perf_counter()
                status = send(session, url).status_code
                latencies.append(time.perf_counter() - start)
                errors += status != expected
        with lock:
            result.latencies.extend(latencies)
            result.errors += errors

    threads = [threading.Thread(target=client_loop) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return result


def drive_paced(
    name: str, url: str, send: Send, expected: int, clients: int, rate: float, seconds: float
) -> Result:
    """Open loop: `clients` threads send `rate` requests/s in all on a fixed schedule; a
    latency counts from when its request was due, so time spent queued behind a slow one
    counts too."""
    result = Result(name, seconds)
    lock = threading.Lock()
    start = time.perf_counter() + 0.1
    interval = clients / rate

    def client_loop(offset: int) -> None:
        latencies, errors = [], 0
        with requests.Session() as session:
            due = start + offset * interval / clients
            while due < start + seconds:
                pause = due - time.perf_counter()
                if pause > 0:
                    time.sleep(pause)
                status = send(session, url).status_code
                latencies.append(time.perf_counter() - due)
                errors += status != expected
                due += interval
        with lock:
            result.latencies.extend(latencies)
            result.errors += errors

    threads = [threading.Thread(target=client_loop, args=(n,)) for n in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return result


def scenarios(hub_url: str, bare_url: str, key: str) -> list[tuple[str, str, Send, int]]:
    auth = {"Authorization": f"Bearer {key}"}
    names = itertools.count()

    def post_client(session: requests.Session, url: str) -> requests.Response:
        body = {"name": f"Client {next(names)}", "contact_email": "ops@client.example"}
        return session.post(url, json=body, headers=auth, timeout=30)

    def get(session: requests.Session, url: str) -> requests.Response:
        return session.get(url, headers=auth, timeout=30)

    return [
        ("bare Flask GET /bare", f"{bare_url}/bare", get, 200),
        ("POST /api/clients", f"{hub_url}/api/clients", post_client, 201),
        ("GET /api/clients?limit=50", f"{hub_url}/api/clients?limit=50", get, 200),
    ]


def merged(runs: list[Result]) -> Result:
    """One row for an endpoint's rounds: their requests, errors, time and CPU together."""
    total = Result(runs[0].name, sum(r.seconds for r in runs))
    for r in runs:
        total.latencies.extend(r.latencies)
        total.errors += r.errors
        for part, seconds in r.cpu.items():
            total.cpu[part] = total.cpu.get(part, 0.0) + seconds
    return total


def measure(
    args: argparse.Namespace, hub_url: str, bare_url: str, key: str, parts: Parts
) -> tuple[list[Result], list[list[Result]]]:
    """The closed-loop rows (each endpoint's rounds merged), then the open-loop ones; and
    each endpoint's rounds. Rounds take turns (bare, POST, GET, bare, ...), so a change
    in the machine's speed falls on every endpoint alike."""
    plan = scenarios(hub_url, bare_url, key)  # one plan: new client names go on counting
    for name, url, send, expected in plan:
        drive(name, url, send, expected, args.clients, args.warmup)  # forked workers warm up
    rounds: list[list[Result]] = [[] for _ in plan]
    for _ in range(args.rounds):
        for runs, (name, url, send, expected) in zip(rounds, plan, strict=True):
            pids = parts.pids(url)
            before = cpu_of(pids)
            result = drive(name, url, send, expected, args.clients, args.seconds)
            after = cpu_of(pids)
            result.cpu = {part: after[part] - before[part] for part in pids}
            runs.append(result)
    results = [merged(runs) for runs in rounds]
    if args.load:  # the same requests at a share of the capacity just measured
        for (name, url, send, expected), full in zip(plan[1:], results[1:], strict=True):
            rate = args.load * full.rps
            label = f"{name} @ {rate:.0f}/s"
            results.append(
                drive_paced(label, url, send, expected, args.clients, rate, args.seconds)
            )
    return results, rounds


def report(results: list[Result], rounds: list[list[Result]], args: argparse.Namespace) -> None:
    span = (
        f"{args.rounds} rounds of {args.seconds:g} s" if args.rounds > 1 else f"{args.seconds:g} s"
    )
    print(
        f"\n{args.clients} keep-alive clients, {span} each; gunicorn gthread, "
        f"{args.workers} workers x {args.threads} threads; SQLite (WAL); {os.cpu_count()} CPUs\n"
    )
    print(
        f"{'endpoint':<36} {'requests':>9} {'errors':>7} {'req/s':>8} {'p50 ms':>8} "
        f"{'p95 ms':>8} {'p99 ms':>8}"
    )
    for r in results:
        print(
            f"{r.name:<36} {len(r.latencies):>9} {r.errors:>7} {r.rps:>8.0f} "
            f"{r.percentile(0.50):>8.1f} {r.percentile(0.95):>8.1f} {r.percentile(0.99):>8.1f}"
        )
    print(
        f"\n{'CPU per request, ms':<36} {'server':>8} {'load':>8} {'redis':>8} {'total':>8} "
        f"{'CPUs busy':>10}"
    )
    cpus = os.cpu_count() or 1
    for r in results:
        if not r.cpu or not r.latencies:
            continue
        each = {part: seconds / len(r.latencies) * 1000 for part, seconds in r.cpu.items()}
        redis_ms = f"{each['redis']:>8.3f}" if "redis" in each else f"{'-':>8}"
        busy = sum(r.cpu.values()) / r.seconds / cpus * 100
        print(
            f"{r.name:<36} {each['server']:>8.3f} {each['load']:>8.3f} {redis_ms} "
            f"{sum(each.values()):>8.3f} {busy:>9.0f}%"
        )
    bare = results[0]
    for r, runs in zip(results[1:3], rounds[1:3], strict=True):
        print(f"\n{r.name}: {r.rps / bare.rps:.2f} x the bare endpoint's req/s", end="")
        if args.rounds > 1:
            ratios = [run.rps / base.rps for run, base in zip(runs, rounds[0], strict=True)]
            listed = " ".join(f"{ratio:.2f}" for ratio in ratios)
            print(f" (rounds: {listed}; median {statistics.median(ratios):.2f})", end="")
    print()


# ----- main -----


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="measured time per endpoint")
    parser.add_argument("--warmup", type=float, default=2.0, help="unmeasured time per endpoint")
    parser.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="closed-loop rounds, the endpoints taking turns; each round's ratios and their "
        "median are printed too",
    )
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2 * (os.cpu_count() or 1))
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument(
        "--load",
        type=float,
        default=0.5,
        help="then each hub endpoint at this share of its "
        "measured req/s, open loop, for the latency at that load (0: skip)",
    )
    return parser.parse_args()


def hub_env(tmp: Path, redis_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    env.update(
        HUB_VAR_DIR=str(tmp / "var"),
        HUB_DATABASE_URL=f"sqlite:///{tmp / 'hub.db'}",
        REDIS_URL=redis_url,
        HUB_SECRET_KEY="bench",
        HUB_LOG_LEVEL="WARNING",
        # far above what the bench reaches: the limiter's Redis check runs, it never refuses
        HUB_API_RATE_LIMIT="100000000/minute",
        PYTHONPATH=str(ROOT),
    )
    env["HUB_ENCRYPTION_KEYS"] = hub_cli(env, "keys", "generate")
    return env


def main() -> None:
    args = parse_args()
    with tempfile.TemporaryDirectory(prefix="hub-bench-") as tmp_dir, ExitStack() as stack:
        tmp = Path(tmp_dir)
        redis_url, redis_pid = stack.enter_context(bench_redis(tmp))
        env = hub_env(tmp, redis_url)
        hub_cli(env, "db", "upgrade")
        key = hub_cli(env, "apikey", "create", "--org", hub_cli(env, "org", "create", "Bench"))
        hub_port, bare_port = free_port(), free_port()
        workers, threads = str(args.workers), str(args.threads)
        serve = ["serve", "--host", HOST, "--port", str(hub_port), "--workers", workers]
        hub_cmd = [sys.executable, "-m", "hub.cli", *serve, "--threads", threads]
        bare_app = str(ROOT / "bench" / "bare_app.py")
        bare_cmd = [sys.executable, "-P", bare_app, HOST, str(bare_port)]  # -P: as above
        hub = stack.enter_context(running(hub_cmd, env, tmp / "hub.log"))
        bare = stack.enter_context(running([*bare_cmd, workers, threads], env, tmp / "bare.log"))
        hub_url, bare_url = f"http://{HOST}:{hub_port}", f"http://{HOST}:{bare_port}"
        wait_ready(f"{hub_url}/api/health")
        wait_ready(f"{bare_url}/bare")
        parts = Parts({hub_url: hub.pid, bare_url: bare.pid}, redis_pid)
        report(*measure(args, hub_url, bare_url, key, parts), args)


if __name__ == "__main__":
    main()
