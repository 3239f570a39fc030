"""The per-process cache of API-key lookups (hub/api/keycache.py): a key revoked, or its
user demoted, in one process is refused by another process's cached lookup at its next
request. The other process is a real one, its cache set to keep entries for an hour, so only
the generation counter it reads with its rate limit can make it see the change."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from hub.api.keycache import GENERATION_KEY
from hub.core.models import ApiKey
from hub.extensions import db
from hub.testing import ApiClient, OrgHandle

# Another web process: reads "<key> <method> <path>" lines, answers each with its status.
OTHER_PROCESS = """
import json, sys
from hub.app import create_app
app = create_app(json.loads(sys.argv[1]))
app.extensions["hub.keycache"].ttl = 3600.0
client = app.test_client()
print("ready", flush=True)
for line in sys.stdin:
    key, method, path = line.split()
    response = client.open(path, method=method, headers={"Authorization": f"Bearer {key}"})
    print(response.status_code, flush=True)
"""


class OtherProcess:
    def __init__(self, config: dict[str, Any]) -> None:
        self.child = subprocess.Popen(
            [sys.executable, "-c", OTHER_PROCESS, json.dumps(config)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self._line() == "ready"

    def _line(self) -> str:
        assert self.child.stdout is not None
        return self.child.stdout.readline().strip()

    def status(self, key: str, path: str, method: str = "GET") -> int:
        assert self.child.stdin is not None
        self.child.stdin.write(f"{key} {method} {path}\n")
        self.child.stdin.flush()
        return int(self._line())

    def stop(self) -> None:
        assert self.child.stdin is not None and self.child.stdout is not None
        self.child.stdin.close()
        self.child.wait(60)
        self.child.stdout.close()


@pytest.fixture
def other_process(app: Flask, hub_config: dict[str, Any]) -> Iterator[OtherProcess]:
    other = OtherProcess(hub_config)
    yield other
    other.stop()


def _key_id(app: Flask, secret: str) -> int:
    with app.app_context():
        return db.session.scalar(select(ApiKey.id).where(ApiKey.prefix == secret[:16])) or 0


def test_a_key_revoked_here_is_refused_by_another_process_cached_lookup(
    app: Flask, api: ApiClient, org: OrgHandle, other_process: OtherProcess, redis_client
) -> None:
    assert other_process.status(org.member_key, "/api/me") == 200
    assert other_process.status(org.member_key, "/api/me") == 200  # now from its cache
    before = int(redis_client.get(GENERATION_KEY) or 0)

    assert api.delete(f"/api/keys/{_key_id(app, org.member_key)}").status_code == 204

    assert int(redis_client.get(GENERATION_KEY) or 0) > before
    assert other_process.status(org.member_key, "/api/me") == 401
    assert other_process.status(org.admin_key, "/api/me") == 200  # other keys unaffected


def test_a_user_demoted_here_acts_as_member_at_once_in_another_process(
    api: ApiClient, org: OrgHandle, other_process: OtherProcess
) -> None:
    second = api.post("/api/users", json={"email": "b@acme.example", "name": "B", "role": "admin"})
    assert second.status_code == 201, second.get_json()
    created = api.post("/api/keys", json={"role": "admin", "user_id": second.get_json()["id"]})
    assert created.status_code == 201, created.get_json()
    secret = created.get_json()["key"]
    assert other_process.status(secret, "/api/keys") == 200  # admin-only, cached
    assert other_process.status(secret, "/api/keys") == 200

    demoted = api.patch(f"/api/users/{second.get_json()['id']}", json={"role": "member"})
    assert demoted.status_code == 200, demoted.get_json()

    assert other_process.status(secret, "/api/keys") == 403
    assert other_process.status(secret, "/api/me") == 200  # the key works, as member


def test_a_lookup_is_cached_for_at_most_its_ttl(app: Flask, api: ApiClient, org: OrgHandle) -> None:
    cache = app.extensions["hub.keycache"]
    assert api.get("/api/me").status_code == 200
    entry = cache.get(org.admin_key)
    assert entry is not None and entry.key["id"] == _key_id(app, org.admin_key)
    entry.born -= cache.ttl  # as if a second had passed
    assert cache.get(org.admin_key) is None
