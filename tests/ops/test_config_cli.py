"""Settings fail early and by name; the `hub` command prints only what scripts capture."""

from __future__ import annotations

import base64
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from hub.app import create_app
from hub.config import SETTINGS
from hub.errors import ConfigError
from hub.testing import ApiClient

README = Path(__file__).resolve().parents[2] / "README.md"

MALFORMED = [
    ("HUB_DATABASE_URL", "ftp://x"),
    ("HUB_DATABASE_URL", "not a url"),
    ("REDIS_URL", "http://127.0.0.1:6379"),
    ("HUB_APP_URL", "ftp://hub.example"),
    ("HUB_APP_URL", "http://"),
    ("HUB_CLIENT_URL", "app.example"),
    ("HUB_MAX_BODY_BYTES", "-1"),
    ("HUB_MAX_BODY_BYTES", "0"),
    ("HUB_MAX_BODY_BYTES", "1MB"),
    ("HUB_LOG_LEVEL", "LOUD"),
    ("HUB_EGRESS_ALLOW_HTTP", "maybe"),
    ("HUB_EGRESS_ALLOWED_CIDRS", "10.0.0.0/33"),
    ("HUB_EGRESS_ALLOWED_CIDRS", "127.0.0.0/8,bogus"),
    ("HUB_HTTP_TIMEOUT", "0"),
    ("HUB_HTTP_TIMEOUT", "soon"),
    ("HUB_HTTP_TIMEOUT", "nan"),
    ("HUB_HTTP_TIMEOUT", "inf"),
]


@pytest.mark.parametrize(("name", "value"), MALFORMED)
def test_a_malformed_setting_stops_start_up_naming_it(monkeypatch, tmp_path, name, value):
    monkeypatch.setenv("HUB_VAR_DIR", str(tmp_path))
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as caught:
        create_app()
    assert name in str(caught.value)


def test_a_bad_cidr_is_named(monkeypatch, tmp_path):
    monkeypatch.setenv("HUB_VAR_DIR", str(tmp_path))
    monkeypatch.setenv("HUB_EGRESS_ALLOWED_CIDRS", "10.0.0.0/8, 10.0.0.0/33")
    with pytest.raises(ConfigError, match=re.escape("10.0.0.0/33")):
        create_app()


def test_every_setting_is_documented_in_the_readme_table(app):
    table = re.findall(r"^\| `([A-Z][A-Z0-9_]+)` \|", README.read_text(), re.MULTILINE)
    undocumented = [s.name for s in SETTINGS if s.name not in table]
    assert not undocumented, f"add to README.md's configuration table: {undocumented}"


# ----- the hub command, as a script would run it -----


def hub(env: dict[str, str], *args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, "-m", "hub.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    if ok:
        assert result.returncode == 0, result.stderr
    return result


@pytest.fixture
def cli_env(hub_config: dict[str, Any]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    return {**env, **{k: str(v) for k, v in hub_config.items()}, "HUB_LOG_LEVEL": "INFO"}


def test_org_create_prints_only_the_slug(cli_env, app):
    result = hub(cli_env, "org", "create", "Atelier Lumière", "--timezone", "Europe/Paris")
    assert result.stdout == "atelier-lumi-re\n"
    api = ApiClient(
        app.test_client(),
        hub(cli_env, "apikey", "create", "--org", "atelier-lumi-re").stdout.strip(),
    )
    assert api.get("/api/org").get_json()["timezone"] == "Europe/Paris"


def test_org_create_refuses_an_unknown_time_zone(cli_env):
    result = hub(cli_env, "org", "create", "Acme", "--timezone", "Mars/Olympus", ok=False)
    assert result.returncode != 0
    assert result.stdout == ""
    assert "timezone" in result.stderr


def test_apikey_create_prints_only_a_working_key(cli_env, app):
    slug = hub(cli_env, "org", "create", "Acme").stdout.strip()
    result = hub(cli_env, "apikey", "create", "--org", slug, "--role", "member", "--name", "ci")
    key = result.stdout.strip()
    assert result.stdout == key + "\n" and re.fullmatch(r"mhk_[0-9a-f]{12}_[\w-]+", key)
    api = ApiClient(app.test_client(), key)
    me = api.get("/api/me").get_json()
    assert (me["org"]["slug"], me["role"], me["user"]) == (slug, "member", None)
    assert api.post("/api/clients", json={"name": "Nope"}).status_code == 403


def test_apikey_create_can_tie_the_key_to_a_user(cli_env, app):
    slug = hub(cli_env, "org", "create", "Acme").stdout.strip()
    admin = ApiClient(
        app.test_client(), hub(cli_env, "apikey", "create", "--org", slug).stdout.strip()
    )
    assert (
        admin.post("/api/users", json={"email": "ann@acme.example", "name": "Ann"}).status_code
        == 201
    )
    key = hub(
        cli_env, "apikey", "create", "--org", slug, "--user", "ann@acme.example"
    ).stdout.strip()
    me = ApiClient(app.test_client(), key).get("/api/me").get_json()
    assert me["role"] == "member" and me["user"]["email"] == "ann@acme.example"  # Ann's role
    refused = hub(
        cli_env,
        "apikey",
        "create",
        "--org",
        slug,
        "--user",
        "ann@acme.example",
        "--role",
        "admin",
        ok=False,
    )
    assert refused.returncode == 2 and refused.stdout == ""
    assert "more rights than its user" in refused.stderr


@pytest.mark.parametrize(
    "args",
    [
        ("apikey", "create", "--org", "no-such-org"),
        ("apikey", "create", "--org", "{slug}", "--user", "nobody@acme.example"),
        ("apikey", "create", "--org", "{slug}", "--role", "owner"),
    ],
)
def test_apikey_create_fails_cleanly(cli_env, args):
    slug = hub(cli_env, "org", "create", "Acme").stdout.strip()
    result = hub(cli_env, *(arg.format(slug=slug) for arg in args), ok=False)
    assert result.returncode != 0
    assert result.stdout == ""
    assert result.stderr.strip()


def test_keys_generate_prints_one_key_ring_entry(cli_env):
    entries = [hub(cli_env, "keys", "generate").stdout for _ in range(2)]
    for entry in entries:
        match = re.fullmatch(r"([A-Za-z0-9_-]+):([A-Za-z0-9+/]+=*)\n", entry)
        assert match, entry
        assert len(base64.b64decode(match.group(2), validate=True)) == 32
    assert entries[0] != entries[1]
    assert entries[0].split(":")[0] != entries[1].split(":")[0]
