"""Dropbox: one large upload through the hub against a plain upload-session loop.

    .venv/bin/python bench/dropbox_upload.py [--mib 1024] [--chunk-mib 8] [--rounds 3]
        [--database-url URL]

The loopback Dropbox emulator runs in this process. The hub runs as the production web
process (``hub serve``: gunicorn, one worker process) and one ``hub worker``, on a
throwaway SQLite database (or ``--database-url``) and an embedded Redis (or REDIS_URL's
database 13, emptied before and after), with an organization per round (each round's
upload has the Dropbox quota of its own) with a connected Dropbox integration and one
client whose folder exists. A file of N MiB of random bytes is written to disk (and
synced, so its write-back does not fall into a timed run), then, `--rounds` times, the two
take turns (which goes first alternates):

- through the hub: POST ``upload`` streamed from disk as multipart (the web process
  spools and hashes it; answers 202 when it has it all), then the worker sends it through
  an upload session; timed from the first byte to ``state: succeeded``;
- plain: ``upload_session/start``, ``append_v2``, ``finish`` in chunks of the same size,
  read from the same file, to the same emulator;
- paced: the same loop held to the organization's Dropbox quota the hub keeps (no more
  calls in any second than its per-second window allows): what any client that keeps
  the quota could do, so hub/paced is the cost of the hub's own path once the quota binds.

Prints each round, then the median of each and the ratios with their spread (goal: the hub
at least 0.8x the plain loop; with 8 MiB chunks the quota alone caps a 1 GiB upload at
128 calls / 50 a second = 2.56 s, so on a loopback faster than 400 MiB/s the plain loop
outruns any client that keeps it), the CPU seconds the web process, the worker and this
process spent (on a machine shared with other work they move less than the times do), how
much the emulator had received from the worker when the web process answered, and the web
worker process's resident memory idle and at its peak during the uploads (goal: under
50 MiB above idle; the peak is reset through /proc/<pid>/clear_refs first).
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import redis
import requests
from benchhub import Workers, cpu_seconds, environment, migrated_settings
from mycelium_dropbox.emulator import DropboxEmulator
from mycelium_dropbox.provider import PROVIDER

HOST = "127.0.0.1"
# the per-second window of the organization's Dropbox quota, which the hub keeps
QUOTA_PER_SECOND = PROVIDER.rate_limits.per_second if PROVIDER.rate_limits else None
MIB = 1024 * 1024
BENCH_REDIS_DB = 13


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


@contextmanager
def bench_redis(tmp: Path) -> Iterator[str]:
    url = os.environ.get("REDIS_URL")
    if not url or url.startswith("unix"):
        from hub.core.embedded_redis import EmbeddedRedis

        server = EmbeddedRedis(tmp / "redis.sock").start()
        try:
            yield server.url
        finally:
            server.stop()
        return
    url = urlunsplit(urlsplit(url)._replace(path=f"/{BENCH_REDIS_DB}"))
    client = redis.Redis.from_url(url)
    client.flushdb()
    try:
        yield url
    finally:
        client.flushdb()
        client.close()


def hub_cli(env: dict[str, str], *args: str) -> str:
    command = [sys.executable, "-m", "hub.cli", *args]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        raise SystemExit(f"hub {' '.join(args)} failed:\n{done.stderr}")
    return done.stdout.strip()


def seed(settings: dict[str, Any]) -> tuple[str, int, int]:
    """An organization with Dropbox connected (a token the emulator knows) and a client
    whose folder tree is made; (org slug, org id, client id)."""
    from datetime import timedelta

    from mycelium_dropbox import folders

    import hub
    from hub.app import create_app
    from hub.core.connections import integrations, tokens
    from hub.core.models import Client
    from hub.core.orgs import create_org
    from hub.extensions import db
    from hub.plugins import get_plugins
    from hub.provider import Token

    app = create_app(dict(settings))
    with app.app_context():
        org = create_org(db.session, f"Bench {secrets.token_hex(3)}", "UTC")
        client = Client(org_id=org.id, name="Globex")
        db.session.add(client)
        plugins, keyring = get_plugins(app), app.extensions["hub.keyring"]
        row = integrations.enable(db.session, plugins.providers, keyring, org.id, "dropbox", {})
        expires = hub.now() + timedelta(hours=4)
        tokens.store_token(
            keyring, row, Token(settings["BENCH_TOKEN"], "refresh", expires_at=expires)
        )
        integrations.enable(db.session, plugins.providers, keyring, org.id, "dropbox", {})
        db.session.commit()
        ctx = hub.context_for("dropbox", org.id)
        assert ctx is not None
        folders.make_org_tree(ctx)
        folders.make_client_tree(ctx, client.id)
        db.session.commit()
        return org.slug, org.id, client.id


def write_file(path: Path, size: int) -> None:
    with path.open("wb") as out:
        left = size
        while left:
            piece = os.urandom(min(8 * MIB, left))
            out.write(piece)
            left -= len(piece)
        out.flush()
        os.fsync(out.fileno())


class Multipart:
    """A multipart body read from disk as it is sent (a file-like object with a length)."""

    def __init__(self, path: Path, fields: dict[str, str]) -> None:
        boundary = secrets.token_hex(16)
        head = "".join(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'
            for k, v in fields.items()
        )
        head += (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
            f'filename="{path.name}"\r\nContent-Type: application/octet-stream\r\n\r\n'
        )
        self.content_type = f"multipart/form-data; boundary={boundary}"
        self._parts = [head.encode(), path, f"\r\n--{boundary}--\r\n".encode()]
        self._length = len(self._parts[0]) + path.stat().st_size + len(self._parts[2])
        self._file = path.open("rb")
        self._stage = 0

    def __len__(self) -> int:
        return self._length

    def read(self, size: int = -1) -> bytes:
        size = MIB if size is None or size < 0 else max(size, MIB)  # http.client asks 8 KiB
        while self._stage < 3:
            part = self._parts[self._stage]
            if isinstance(part, Path):
                piece = self._file.read(size)
                if piece:
                    return piece
                self._file.close()
            elif part:
                self._parts[self._stage] = b""
                return part
            self._stage += 1
        return b""


def worker_pid(master: int) -> int:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
        if children:
            return int(children[0])
        time.sleep(0.1)
    raise SystemExit("gunicorn started no worker")


def memory(pid: int) -> dict[str, int]:
    found = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            found[name] = int(value.split()[0]) * 1024
    return found


def received_by_emulator(emulator: DropboxEmulator) -> int:
    """The bytes of the newest upload session the emulator holds."""
    with emulator.store.lock:
        sessions = list(emulator.store.sessions.values())
    return sessions[-1].offset if sessions else 0


def timed_cpu(pids: dict[str, int], run: Any, *args: Any) -> dict[str, Any]:
    """`run(*args)`'s answer with the CPU seconds each of `pids` spent meanwhile."""
    before = {name: cpu_seconds(pid) for name, pid in pids.items()}
    result: dict[str, Any] = run(*args)
    for name, pid in pids.items():
        result[f"cpu_{name}"] = cpu_seconds(pid) - before[name]
    return result


def through_hub(
    url: str, key: str, path: Path, client_id: int, emulator: DropboxEmulator
) -> dict[str, float]:
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {key}"
    body = Multipart(path, {"client_id": str(client_id)})
    started = time.perf_counter()
    answer = session.post(
        f"{url}/api/integrations/dropbox/upload",
        data=body,
        headers={"Content-Type": body.content_type},
        timeout=3600,
    )
    received = time.perf_counter()
    sent_by_answer = received_by_emulator(emulator)
    if answer.status_code != 202:
        raise SystemExit(f"upload answered {answer.status_code}: {answer.text}")
    upload_id = answer.json()["upload_id"]
    while True:
        shown = session.get(
            f"{url}/api/integrations/dropbox/uploads/{upload_id}", timeout=30
        ).json()
        if shown["state"] in ("succeeded", "failed"):
            break
        time.sleep(0.05)  # more often would take the emulator's process from it
    done = time.perf_counter()
    if shown["state"] != "succeeded":
        raise SystemExit(f"the upload failed: {shown['error']}")
    return {
        "seconds": done - started,
        "receive": received - started,
        "send": done - received,
        "sent_by_answer": sent_by_answer,
        "hash": shown["result"]["content_hash"],
    }


def plain_loop(
    emulator: DropboxEmulator, token: str, path: Path, chunk: int, per_second: int | None = None
) -> dict[str, Any]:
    """What a client with the file at hand would do: a session, chunk after chunk; with
    `per_second`, no more calls than that in any second (the quota's moving window)."""
    session = requests.Session()
    base = emulator.urls["content"]
    started_calls: deque[float] = deque()

    def call(route: str, arg: dict[str, Any], data: bytes) -> Any:
        if per_second is not None:
            if len(started_calls) == per_second:
                time.sleep(max(0.0, started_calls.popleft() + 1.0 - time.perf_counter()))
            started_calls.append(time.perf_counter())
        headers = {
            "Authorization": f"Bearer {token}",
            "Content-Type": "application/octet-stream",
            "Dropbox-API-Arg": json.dumps(arg),
        }
        answer = session.post(f"{base}/2/{route}", data=data, headers=headers, timeout=600)
        answer.raise_for_status()
        return answer.json()

    size = path.stat().st_size
    started = time.perf_counter()
    with path.open("rb") as source:
        session_id = call("files/upload_session/start", {}, source.read(chunk))["session_id"]
        offset = min(chunk, size)
        while size - offset > chunk:
            cursor = {"session_id": session_id, "offset": offset}
            call("files/upload_session/append_v2", {"cursor": cursor}, source.read(chunk))
            offset += chunk
        cursor = {"session_id": session_id, "offset": offset}
        commit = {"path": "/plain/" + path.name, "mode": "add", "autorename": True}
        meta = call(
            "files/upload_session/finish", {"cursor": cursor, "commit": commit}, source.read()
        )
    return {"seconds": time.perf_counter() - started, "hash": meta["content_hash"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mib", type=int, default=1024)
    parser.add_argument("--chunk-mib", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    size, chunk = args.mib * MIB, args.chunk_mib * MIB
    emulator = DropboxEmulator().start()
    token = "sl.bench-" + secrets.token_hex(8)
    emulator.oauth.access_tokens[token] = None
    with (
        tempfile.TemporaryDirectory(prefix="hub-bench-dropbox-") as name,
        bench_redis(Path(name)) as redis_url,
    ):
        tmp = Path(name)
        settings = migrated_settings(
            tmp,
            redis_url,
            args.database_url,
            **emulator.settings(),
            DROPBOX_CHUNK_BYTES=str(chunk),
            DROPBOX_MAX_UPLOAD_BYTES=str(size + MIB),
            BENCH_TOKEN=token,
        )
        env = environment(settings)
        # an organization per round: each upload of 1 GiB is 128 calls of its Dropbox quota
        # (300 a minute), so rounds of one organization would wait for the quota
        uploaders = []
        for _ in range(args.rounds):
            slug, _, client_id = seed(settings)
            key = hub_cli(env, "apikey", "create", "--org", slug, "--name", "bench")
            uploaders.append((key, client_id))
        port = free_port()
        url = f"http://{HOST}:{port}"
        log = (tmp / "web.log").open("w")
        serve = [sys.executable, "-m", "hub.cli", "serve", "--host", HOST, "--port", str(port)]
        web = subprocess.Popen(
            [*serve, "--workers", "1", "--threads", "4"],
            env=env,
            stdout=log,
            stderr=log,
            start_new_session=True,
        )
        workers = Workers(redis.Redis.from_url(redis_url), env, tmp)
        try:
            workers.start(1)
            pid = worker_pid(web.pid)
            session = requests.Session()
            session.headers["Authorization"] = f"Bearer {uploaders[0][0]}"
            deadline = time.monotonic() + 60
            while True:  # warm up: the first request loads what every request needs
                try:
                    if session.get(f"{url}/api/integrations/dropbox/files", timeout=5).ok:
                        break
                except requests.ConnectionError:
                    pass
                if time.monotonic() > deadline:
                    raise SystemExit(f"the web process did not start; see {tmp / 'web.log'}")
                time.sleep(0.2)
            path = tmp / "master.bin"
            write_file(path, size)
            idle = memory(pid)["VmRSS"]
            Path(f"/proc/{pid}/clear_refs").write_text("5")  # peak RSS starts again from now
            hub_runs: list[dict[str, Any]] = []
            plain_runs: list[dict[str, Any]] = []
            paced_runs: list[dict[str, Any]] = []
            pids = {"web": pid, "worker": workers.children[0].pid, "bench": os.getpid()}
            order = ["hub", "plain", "paced"]
            for round_number in range(args.rounds):
                turn = order[round_number % 3 :] + order[: round_number % 3]  # who goes first
                for which in turn:
                    if which == "hub":
                        key, client_id = uploaders[round_number]
                        hub_args = (url, key, path, client_id, emulator)
                        hub_runs.append(timed_cpu(pids, through_hub, *hub_args))
                    else:
                        paced = QUOTA_PER_SECOND if which == "paced" else None
                        plain_args = (emulator, token, path, chunk, paced)
                        runs = paced_runs if which == "paced" else plain_runs
                        runs.append(timed_cpu(pids, plain_loop, *plain_args))
                hub_run, plain, held = hub_runs[-1], plain_runs[-1], paced_runs[-1]
                assert hub_run["hash"] == plain["hash"] == held["hash"], "the uploads differ"
                print(
                    f"round {round_number + 1}: hub {hub_run['seconds']:.2f} s (receive "
                    f"{hub_run['receive']:.2f} s, then {hub_run['send']:.2f} s), plain "
                    f"{plain['seconds']:.2f} s, paced {held['seconds']:.2f} s; ratio "
                    f"{plain['seconds'] / hub_run['seconds']:.2f}x, to paced "
                    f"{held['seconds'] / hub_run['seconds']:.2f}x",
                    flush=True,
                )
            peak = memory(pid)["VmHWM"]
        finally:
            workers.stop()
            os.killpg(web.pid, signal.SIGTERM)
            web.wait(30)
            emulator.stop()
    mib = size / MIB

    def median(runs: list[dict[str, Any]], name: str) -> float:
        return statistics.median(run[name] for run in runs)

    hub_s, plain_s = median(hub_runs, "seconds"), median(plain_runs, "seconds")
    paced_s = median(paced_runs, "seconds")
    ratios = [p["seconds"] / h["seconds"] for h, p in zip(hub_runs, plain_runs, strict=True)]
    to_paced = [p["seconds"] / h["seconds"] for h, p in zip(hub_runs, paced_runs, strict=True)]
    print(
        f"upload of {mib:.0f} MiB in {args.chunk_mib} MiB chunks, loopback emulator, "
        f"median of {args.rounds} rounds"
    )
    print(
        f"  through the hub   {hub_s:7.2f} s  {mib / hub_s:7.1f} MiB/s"
        f"  (web receives {median(hub_runs, 'receive'):.2f} s, worker sends "
        f"{median(hub_runs, 'send'):.2f} s more; "
        f"{median(hub_runs, 'sent_by_answer') / MIB:.0f} MiB sent while receiving)"
    )
    print(f"  plain session     {plain_s:7.2f} s  {mib / plain_s:7.1f} MiB/s")
    print(
        f"  paced session     {paced_s:7.2f} s  {mib / paced_s:7.1f} MiB/s"
        f"  (at most {QUOTA_PER_SECOND} calls in any second, the quota's window)"
    )
    print(
        f"  CPU seconds       through the hub: web {median(hub_runs, 'cpu_web'):.2f}, worker "
        f"{median(hub_runs, 'cpu_worker'):.2f}, this process (client and emulator) "
        f"{median(hub_runs, 'cpu_bench'):.2f}; plain: this process "
        f"{median(plain_runs, 'cpu_bench'):.2f}"
    )
    print(
        f"  ratio hub/plain   {plain_s / hub_s:.2f}x  (rounds: "
        f"{', '.join(f'{r:.2f}' for r in ratios)}; goal >= 0.8x)"
    )
    print(
        f"  ratio hub/paced   {paced_s / hub_s:.2f}x  (rounds: "
        f"{', '.join(f'{r:.2f}' for r in to_paced)}; the hub's own path, the quota on both)"
    )
    print(
        f"  web worker RSS    idle {idle / MIB:.1f} MiB, peak {peak / MIB:.1f} MiB, "
        f"+{(peak - idle) / MIB:.1f} MiB during the upload (goal < 50 MiB)"
    )


if __name__ == "__main__":
    main()
