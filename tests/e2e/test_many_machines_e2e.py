"""Many machines: two web processes and three workers, each in a network namespace of its
own (its own address; its own HUB_VAR_DIR), reach PostgreSQL and Redis over the network at
the host's bridge address. Clients created through either web process reach a webhook
receiver on the host, sent by the workers over their own addresses: nothing assumes one
host (no file under ./var, no unix socket, no in-process cache is shared). Root and `ip`."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import redis
import requests
from deploy_tools import BIN, deploy_env, fresh_postgresql_schema
from netns_tools import Forwarder, cannot_make_namespaces, network
from rq import Worker
from sqlalchemy.engine import make_url
from support.hub_processes import wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.allow_network]  # the machines' own addresses
CLIENTS = 30
WEBS, WORKERS = (11, 12), (21, 22, 23)  # each machine's last address byte


class Receiver:
    """Webhooks received on the host's bridge address: (sender address, webhook-id, body)."""

    def __init__(self, host: str) -> None:
        self.received: list[tuple[str, str, dict[str, Any]]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                receiver.received.append((self.client_address[0], self.headers["webhook-id"], body))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer((host, 0), Handler)
        self.url = f"http://{host}:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    def names(self) -> set[str]:
        return {body["data"]["name"] for _, _, body in self.received}


@pytest.fixture
def prefix() -> str:
    reason = cannot_make_namespaces()
    if reason:
        if os.environ.get("CI") == "true":
            pytest.fail(f"the many-machines test needs network namespaces: {reason}")
        pytest.skip(reason)
    return f"10.{200 + os.getpid() % 50}.{os.getpid() % 250}"


@pytest.fixture
def database() -> Iterator[str]:
    with fresh_postgresql_schema() as url:
        yield url


def over(url: str, host: str, port: int) -> str:
    """`url` with its host and port replaced."""
    return make_url(url).set(host=host, port=port).render_as_string(hide_password=False)


def hub(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [str(BIN / "hub"), *args], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def start(machine: str, env: dict[str, str], log: Path, *args: str) -> subprocess.Popen[bytes]:
    with open(log, "wb") as out:
        command = ["ip", "netns", "exec", machine, sys.executable, "-m", "hub.cli", *args]
        return subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)


def readiness(address: str) -> str:
    """What the machine's /api/health/ready answers (or why nothing answers)."""
    try:
        answer = requests.get(f"http://{address}:8000/api/health/ready", timeout=5)
    except requests.RequestException as exc:
        return f"no answer: {exc}"
    return f"{answer.status_code} {answer.text}"


def test_two_webs_and_three_workers_on_five_machines(
    prefix: str, database: str, hub_redis_url: str, redis_client: redis.Redis, tmp_path
):
    if not hub_redis_url.startswith("redis://"):
        pytest.skip("needs the machine's Redis over TCP (REDIS_URL)")
    base = deploy_env(database, hub_redis_url, tmp_path / "host-var")
    hub(base, "db", "upgrade")
    key = hub(base, "apikey", "create", "--org", hub(base, "org", "create", "Acme"))
    auth = {"Authorization": f"Bearer {key}"}
    redis_port = make_url(hub_redis_url.replace("redis://", "postgresql://")).port or 6379
    with network(prefix) as net:
        pg = Forwarder(net.host, make_url(database).port or 5432)
        rd = Forwarder(net.host, redis_port)
        receiver = Receiver(net.host)
        shared = {
            **base,
            "HUB_DATABASE_URL": over(database, net.host, pg.port),
            "REDIS_URL": over(hub_redis_url, net.host, rd.port),
            "HUB_EGRESS_ALLOW_HTTP": "1",
            "HUB_EGRESS_ALLOWED_CIDRS": f"{net.host}/32",
            "HUB_APP_URL": f"http://{prefix}.{WEBS[0]}:8000",
        }
        processes, webs, workers = [], [], []
        try:
            for number in (*WEBS, *WORKERS):
                machine, address = net.machine(number)
                var = tmp_path / f"machine-{number}"
                env = {**shared, "HUB_VAR_DIR": str(var / "var")}
                if number in WEBS:
                    args = ("serve", "--host", "0.0.0.0", "--port", "8000", "--workers", "1")
                    webs.append(address)
                else:
                    args = ("worker",)
                    workers.append(address)
                processes.append(start(machine, env, var.with_suffix(".log"), *args))
            for address in webs:
                wait_for(
                    lambda a=address: readiness(a).startswith("200"),
                    90,
                    f"{address} ready (last: {readiness(address)})",
                )
            wait_for(lambda: len(Worker.all(connection=redis_client)) == 3, 60, "3 workers")

            endpoint = {"url": receiver.url, "events": ["client.created"]}
            made = requests.post(
                f"http://{webs[0]}:8000/api/integrations/webhooks", json=endpoint, headers=auth
            )
            assert made.status_code == 201, made.text
            for n in range(CLIENTS):
                web = webs[n % 2]
                created = requests.post(
                    f"http://{web}:8000/api/clients", json={"name": f"C{n}"}, headers=auth
                )
                assert created.status_code == 201, created.text
            want = {f"C{n}" for n in range(CLIENTS)}
            wait_for(lambda: receiver.names() == want, 90, "every client's webhook")
        finally:
            for process in processes:
                process.send_signal(signal.SIGTERM)
            codes = [process.wait(60) for process in processes]
            receiver.server.shutdown()
            receiver.server.server_close()
            pg.close()
            rd.close()
        logs = "\n".join(p.read_text() for p in sorted(tmp_path.glob("machine-*.log")))
        assert codes == [0] * len(processes), logs
        senders = {sender for sender, _, _ in receiver.received}
        assert senders and senders <= set(workers), senders  # sent by workers, not the host
        assert len({webhook_id for _, webhook_id, _ in receiver.received}) == CLIENTS
        # nothing was generated per machine: every secret came from the settings
        for number in (*WEBS, *WORKERS):
            var = tmp_path / f"machine-{number}" / "var"
            assert not var.exists() or not any(var.iterdir()), list(var.iterdir())
