"""Zapier deliveries end to end: N clients created through the API, each event dispatched by a
real RQ worker to the plugin's hook, shaped, signed and POSTed to a loopback Zap, recorded.

Fresh SQLite database and an embedded Redis in a temporary folder; one organization with
Zapier enabled and one subscription (or --hooks of them) to client.created. Prints the time
to create the clients, and the worker's time and events/s for the whole delivery path.

    .venv/bin/python plugins/mycelium-zapier/bench/deliveries.py [--events 500] [--hooks 1]
"""

from __future__ import annotations

import argparse
import base64
import logging
import secrets
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from flask import Flask

from hub.testing import (
    ApiClient,
    EmbeddedRedis,
    create_app,
    make_org,
    plugin_migration_dirs,
    run_jobs,
    upgrade,
)

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from zapier_receiver import Receiver


def config(folder: Path, redis_url: str) -> dict[str, Any]:
    database = f"sqlite:///{folder / 'hub.db'}"
    upgrade(database, plugin_migration_dirs())
    return {
        "HUB_DATABASE_URL": database,
        "REDIS_URL": redis_url,
        "HUB_VAR_DIR": str(folder / "var"),
        "HUB_SECRET_KEY": secrets.token_hex(16),
        "HUB_ENCRYPTION_KEYS": "b1:" + base64.b64encode(secrets.token_bytes(32)).decode(),
        "HUB_LOG_LEVEL": "WARNING",
        "HUB_EGRESS_ALLOW_HTTP": "1",
        "HUB_EGRESS_ALLOWED_CIDRS": "127.0.0.0/8",
    }


def prepare(app: Flask, receiver: Receiver, hooks: int) -> ApiClient:
    api = ApiClient(app.test_client(), make_org(app, "Bench Studio").admin_key)
    assert api.put("/api/integrations/zapier", json={}).status_code == 200
    for index in range(hooks):
        body = {"target_url": receiver.url(f"/zap/{index}"), "event": "client.created"}
        assert api.post("/api/integrations/zapier/hooks", json=body).status_code == 201
    run_jobs(app)  # integration.enabled and friends: not part of the measure
    return api


def measure(app: Flask, receiver: Receiver, events: int, hooks: int) -> None:
    api = prepare(app, receiver, hooks)
    started = time.perf_counter()
    for index in range(events):
        assert api.post("/api/clients", json={"name": f"Client {index}"}).status_code == 201
    created = time.perf_counter() - started
    started = time.perf_counter()
    run_jobs(app, max_rounds=10_000)
    worked = time.perf_counter() - started
    delivered = len(receiver.received)
    print(f"events {events}, subscriptions {hooks}, deliveries received {delivered}")
    print(f"API: {events} clients in {created:.2f} s ({events / created:.0f}/s)")
    print(
        f"worker: {worked:.2f} s, {events / worked:.0f} events/s, {delivered / worked:.0f} POSTs/s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=500)
    parser.add_argument("--hooks", type=int, default=1)
    args = parser.parse_args()
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # the receiver's access log
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        redis_server = EmbeddedRedis(folder / "redis.sock").start()
        receiver = Receiver().start()
        try:
            app = create_app(config(folder, redis_server.url))
            measure(app, receiver, args.events, args.hooks)
        finally:
            receiver.stop()
            redis_server.stop()


if __name__ == "__main__":
    main()
