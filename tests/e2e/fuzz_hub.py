"""A real hub (`hub serve` + `hub worker`, SQLite, embedded Redis, an SMTP server) fuzzed by
Schemathesis through its own OpenAPI document; exits with Schemathesis' code.

Run it only inside a network namespace that has nothing but loopback (what
test_schemathesis.py does): the fuzzer makes up webhook, Zapier and SMTP destinations, and
the hub is told here that loopback destinations are allowed.

    python tests/e2e/fuzz_hub.py WORKDIR [schemathesis options...]
"""

from __future__ import annotations

import base64
import os
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import requests
from aiosmtpd.controller import Controller

from hub.app import create_app
from hub.core.apikeys import create_api_key
from hub.core.embedded_redis import EmbeddedRedis
from hub.core.migrations import upgrade
from hub.core.models import User
from hub.core.orgs import create_org
from hub.extensions import db
from hub.plugins import get_plugins

SEED = 1313
# What the run may take per operation and in all: bounded for a 2-core CI machine.
MAX_EXAMPLES = 25
MAX_SECONDS = 180
CONFIG = Path(__file__).with_name("schemathesis.toml")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def settings(work: Path, redis_url: str) -> dict[str, str]:
    key = base64.b64encode(secrets.token_bytes(32)).decode()
    return {
        "HUB_DATABASE_URL": f"sqlite:///{work / 'hub.db'}",
        "REDIS_URL": redis_url,
        "HUB_VAR_DIR": str(work / "var"),
        "HUB_SECRET_KEY": secrets.token_urlsafe(32),
        "HUB_ENCRYPTION_KEYS": f"fuzz:{key}",
        "HUB_LOG_LEVEL": "WARNING",
        # loopback is all this namespace has: let deliveries reach it, and nothing else exists
        "HUB_EGRESS_ALLOW_HTTP": "true",
        "HUB_EGRESS_ALLOWED_CIDRS": "127.0.0.0/8,::1/128",
        "HUB_API_RATE_LIMIT": "off",
        "HUB_AUTH_FAIL_LIMIT": "off",  # the fuzzer drops the key on purpose, thousands of times
        "HUB_WEBHOOK_TIMEOUT": "2",
        "HUB_HTTP_TIMEOUT": "2",
    }


def seed_org(env: dict[str, str]) -> str:
    """A migrated database with one organization; its admin key (tied to no user, so the
    fuzzer deleting users never locks itself out)."""
    app = create_app(dict(env))
    with app.app_context():
        upgrade(env["HUB_DATABASE_URL"], get_plugins(app).migration_dirs())
        org = create_org(db.session, "Fuzz Agency", "UTC")
        db.session.add(User(org_id=org.id, email="ada@fuzz.example", name="Ada", role="admin"))
        db.session.add(User(org_id=org.id, email="max@fuzz.example", name="Max"))
        _, key = create_api_key(db.session, org.id, "admin", "fuzzer", None)
        db.session.commit()
    return key


def wait_for(url: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            requests.get(url, timeout=5)
            return
        except requests.RequestException:  # not listening yet, or still starting
            time.sleep(0.2)
    raise SystemExit(f"the hub did not answer at {url} within {seconds} s")


def enable_plugins(base: str, key: str, smtp_port: int) -> None:
    """Each plugin enabled (where it can be without a provider), so its routes do work."""
    headers = {"Authorization": f"Bearer {key}"}
    configs: dict[str, Any] = {
        "smtp": {
            "host": "127.0.0.1",
            "port": smtp_port,
            "security": "none",
            "from_address": "hub@fuzz.example",
        },
        "zapier": {},
        "slack": {},
    }
    for name, config in configs.items():
        answer = requests.put(f"{base}/api/integrations/{name}", json=config, headers=headers)
        print(f"enable {name}: {answer.status_code}", flush=True)
    client = requests.post(f"{base}/api/clients", json={"name": "Globex"}, headers=headers)
    client.raise_for_status()


@contextmanager
def hub(work: Path) -> Iterator[tuple[str, dict[str, str]]]:
    redis_server = EmbeddedRedis(work / "redis.sock").start()
    smtp = Controller(_Sink(), hostname="127.0.0.1", port=free_port())
    smtp.start()
    env = {**os.environ, **settings(work, redis_server.url)}
    port = free_port()
    command = [sys.executable, "-m", "hub.cli"]
    children: list[subprocess.Popen[bytes]] = []
    try:
        key = seed_org(env)
        children.append(
            subprocess.Popen(
                [*command, "serve", "--port", str(port), "--workers", "2", "--threads", "4"],
                env=env,
            )
        )
        children.append(subprocess.Popen([*command, "worker"], env=env))
        base = f"http://127.0.0.1:{port}"
        wait_for(f"{base}/api/health")
        enable_plugins(base, key, smtp.port)
        yield base, {"key": key}
    finally:
        for child in children:
            child.terminate()
        for child in children:
            try:
                child.wait(15)
            except subprocess.TimeoutExpired:
                child.kill()
        smtp.stop()
        redis_server.stop()


class _Sink:
    """An SMTP server that takes every message and keeps none."""

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        return "250 OK"


def fuzz(base: str, key: str, work: Path, extra: list[str]) -> int:
    command = [
        str(Path(sys.executable).with_name("st")),
        "--no-color",
        "--config-file",
        str(CONFIG),
        "run",
        f"{base}/api/openapi.json",
        "--checks",
        "all",
        "--seed",
        str(SEED),
        "--max-examples",
        str(MAX_EXAMPLES),
        "--max-time",
        str(MAX_SECONDS),
        "--workers",
        "2",
        "--request-timeout",
        "20",
        "--header",
        f"Authorization: Bearer {key}",
        # The fuzzer would revoke its own key (ids are small) and spend the rest of the run on
        # 401s; revocation is tested in tests/api/test_keys_api.py.
        "--exclude-name",
        "DELETE /api/keys/{key_id}",
        "--report",
        "junit",
        "--report-dir",
        str(work / "report"),
        *extra,
    ]
    return subprocess.call(command, cwd=work)


def main() -> int:
    work = Path(sys.argv[1]).resolve()
    work.mkdir(parents=True, exist_ok=True)
    with hub(work) as (base, secrets_):
        return fuzz(base, secrets_["key"], work, sys.argv[2:])


if __name__ == "__main__":
    sys.exit(main())
