"""The Procfile as an operator runs it with honcho, against the machine's PostgreSQL and
Redis: `release` migrates an empty database, then web plus three workers deliver the
webhooks of clients created through the API, and SIGTERM stops every process cleanly."""

from __future__ import annotations

import json
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
import requests
from deploy_tools import BIN, ROOT, deploy_env, fresh_postgresql_schema
from rq import Worker
from support.hub_processes import wait_for
from support.net import free_port
from support.webhook_tools import Receiver

pytestmark = pytest.mark.e2e
CLIENTS = 20


@pytest.fixture
def database() -> Iterator[str]:
    with fresh_postgresql_schema() as url:
        yield url


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    started = Receiver().start()
    yield started
    started.stop()


# honcho SIGKILLs what has not stopped 5 s after the first process did; on this shared
# machine an interpreter's exit alone can take that long. Give the processes the 30 s a
# service manager gives (docs/deploy.md: TimeoutStopSec, stop_grace_period).
HONCHO = (
    "import sys, honcho.manager, honcho.command; honcho.manager.KILL_WAIT = 30; "
    "sys.argv[0] = 'honcho'; honcho.command.main()"
)


def honcho(*args: str) -> list[str]:
    procfile = ["-f", str(ROOT / "Procfile"), "-d", str(ROOT)]
    return [str(BIN / "python"), "-c", HONCHO, *procfile, *args]


def hub(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [str(BIN / "hub"), *args], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def ready(base: str) -> bool:
    try:
        return requests.get(f"{base}/api/health/ready", timeout=5).status_code == 200
    except requests.RequestException:  # not listening yet, or still loading the app
        return False


def client_events(receiver: Receiver) -> set[str]:
    bodies = [json.loads(r.body) for r in receiver.received]
    return {b["data"]["name"] for b in bodies if b["type"] == "client.created"}


def start(env: dict[str, str], port: int, log: Path) -> subprocess.Popen[Any]:
    with open(log, "wb") as out:
        return subprocess.Popen(
            honcho("start", "-p", str(port), "-c", "worker=3", "web", "worker"),
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def test_procfile_release_web_and_three_workers(
    database: str, hub_redis_url: str, redis_client: redis.Redis, receiver: Receiver, tmp_path
):
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = deploy_env(
        database,
        hub_redis_url,
        tmp_path / "var",
        HUB_APP_URL=base,
        HUB_EGRESS_ALLOW_HTTP="1",
        HUB_EGRESS_ALLOWED_CIDRS="127.0.0.1/32",
    )
    release = subprocess.run(
        honcho("start", "release"), env=env, capture_output=True, text=True, timeout=180
    )
    assert release.returncode == 0, release.stdout
    assert "database is up to date" in release.stdout
    key = hub(env, "apikey", "create", "--org", hub(env, "org", "create", "Acme"))
    auth = {"Authorization": f"Bearer {key}"}

    log = tmp_path / "honcho.log"
    honcho_proc = start(env, port, log)
    try:
        wait_for(lambda: ready(base), 60, f"{base}/api/health/ready")
        wait_for(lambda: len(Worker.all(connection=redis_client)) == 3, 30, "three workers")
        endpoint = {"url": receiver.url(), "events": ["client.created"]}
        made = requests.post(f"{base}/api/integrations/webhooks", json=endpoint, headers=auth)
        assert made.status_code == 201, made.text
        for n in range(CLIENTS):
            answer = requests.post(f"{base}/api/clients", json={"name": f"C{n}"}, headers=auth)
            assert answer.status_code == 201, answer.text
        want = {f"C{n}" for n in range(CLIENTS)}
        wait_for(lambda: client_events(receiver) == want, 60, "every client's webhook")
    finally:
        honcho_proc.send_signal(signal.SIGTERM)
        code = honcho_proc.wait(60)
    output = log.read_text()
    assert code == 143, output  # honcho's own status after a SIGTERM
    for name in ("web.1", "worker.1", "worker.2", "worker.3"):
        assert f"{name} stopped (rc=0)" in output, output
    assert "SIGKILL" not in output, output
    assert Worker.all(connection=redis_client) == []  # each worker said goodbye to RQ
