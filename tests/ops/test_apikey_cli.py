"""`hub apikey list` and `hub apikey revoke`, run as an operator would, in their own process:
the list never shows a secret, and a revocation holds at once for the running app."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from typing import Any

import pytest

from hub.testing import ApiClient


@pytest.fixture
def run(hub_config: dict[str, Any]) -> Any:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    env.update({k: str(v) for k, v in hub_config.items()})

    def hub(*args: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "hub.cli", "apikey", *args]
        return subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)

    return hub


def test_list_shows_every_key_and_no_secret(run, org):
    listed = run("list", "--org", org.org.slug)
    assert listed.returncode == 0, listed.stderr
    header, *rows = listed.stdout.splitlines()
    assert header.split()[:3] == ["PREFIX", "ROLE", "ACTS"]
    assert [row.split()[:4] for row in rows] == [
        [org.admin_key[:16], "admin", "admin", org.admin.email],
        [org.member_key[:16], "member", "member", f"member@{org.org.slug}.example"],
    ]
    assert org.admin_key not in listed.stdout and org.member_key not in listed.stdout


def _column(table: str, name: str) -> list[str]:
    header, *rows = table.splitlines()
    start = header.index(name)
    return [row[start:].split("  ")[0].strip() for row in rows]


def test_revoke_takes_effect_at_once_for_the_running_app(run, client, org):
    api = ApiClient(client, org.member_key)
    assert api.get("/api/me").status_code == 200
    revoked = run("revoke", org.member_key[:16])
    assert revoked.returncode == 0, revoked.stderr
    assert revoked.stdout == "" and f"revoked {org.member_key[:16]}" in revoked.stderr
    assert api.get("/api/me").status_code == 401
    admin_cell, member_cell = _column(run("list", "--org", org.org.slug).stdout, "REVOKED")
    assert admin_cell == "-" and re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d", member_cell)
    again = run("revoke", org.member_key)  # the whole key works too
    assert again.returncode == 0 and "already revoked" in again.stderr
    assert ApiClient(client, org.admin_key).get("/api/me").status_code == 200


@pytest.mark.parametrize(
    "args", [("revoke", "mhk_000000000000"), ("revoke", ""), ("list", "--org", "no-such-org")]
)
def test_unknown_keys_and_organizations_fail_cleanly(run, org, args):
    result = run(*args)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.startswith("Error: ")
