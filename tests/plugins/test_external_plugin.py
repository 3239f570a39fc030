"""Acceptance: a plugin package from outside the hub, installed with pip, works end to end.

The example plugin (examples/mycelium-example) is pip-installed into a throwaway target
folder (never into the venv, so no other test sees it), then: `hub plugins` and
`hub db upgrade` find it in a fresh process, its own test suite passes with hub.testing,
and in a fresh app it is listed, enabled with a validated config, keeps its secret
encrypted, serves its public and authenticated routes, and keeps organizations apart.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy
from flask import Flask

from hub.core.migrations import upgrade
from hub.core.models import Base
from hub.extensions import db
from hub.plugins import Plugins
from hub.testing import ApiClient

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "mycelium-example"
BIN = Path(sys.executable).parent
CONFIG = {"api_url": "https://notes.example.com", "signing_secret": "hush-CLEARTEXT-42"}


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`pip install <path>` of the example into a target folder of its own."""
    work = tmp_path_factory.mktemp("external")
    source = work / "src"
    shutil.copytree(EXAMPLE, source, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    target = work / "site"
    command = [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target"]
    result = subprocess.run([*command, str(target), str(source)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return target


def _env(site: Path, tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    env.update(
        PYTHONPATH=str(site),
        HUB_VAR_DIR=str(tmp_path / "var"),
        HUB_DATABASE_URL=f"sqlite:///{tmp_path / 'cli.db'}",
        HUB_LOG_LEVEL="WARNING",
        **extra,
    )
    return env


def test_cli_lists_and_migrates_the_installed_plugin(site: Path, tmp_path: Path) -> None:
    env = _env(site, tmp_path)
    listed = subprocess.run([BIN / "hub", "plugins", "--json"], env=env, capture_output=True)
    assert listed.returncode == 0, listed.stderr
    example = {p["name"]: p for p in json.loads(listed.stdout)}["example"]
    assert (example["distribution"], example["version"]) == ("mycelium-example", "0.1.0")
    table = subprocess.run([BIN / "hub", "plugins"], env=env, capture_output=True, text=True)
    assert any(
        line.split()[:3] == ["example", "0.1.0", "mycelium-example"]
        for line in table.stdout.splitlines()
    )
    migrated = subprocess.run([BIN / "hub", "db", "upgrade"], env=env, capture_output=True)
    assert migrated.returncode == 0, migrated.stderr
    engine = sqlalchemy.create_engine(env["HUB_DATABASE_URL"])
    assert "example_notes" in sqlalchemy.inspect(engine).get_table_names()
    engine.dispose()


def test_its_own_suite_passes_with_hub_testing(site: Path, tmp_path: Path) -> None:
    env = _env(site, tmp_path)
    env.update({k: v for k, v in os.environ.items() if k == "HUB_TEST_DATABASE_URL"})
    command = [
        sys.executable,
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        str(EXAMPLE / "tests"),
    ]
    result = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert " passed" in result.stdout


@pytest.fixture
def external_app(
    site: Path, monkeypatch: pytest.MonkeyPatch, hub_database_url: str, make_app: Any
) -> Iterator[Flask]:
    """A fresh app that discovers the example, on a database migrated with its branch."""
    monkeypatch.syspath_prepend(str(site))
    upgrade(hub_database_url, Plugins().migration_dirs())
    yield make_app()
    # The module stays imported (declaring its model twice would warn); its table leaves the
    # shared metadata, since the other tests' databases do not have it.
    if "example_notes" in Base.metadata.tables:
        Base.metadata.remove(Base.metadata.tables["example_notes"])


def _sign(body: bytes) -> dict[str, str]:
    digest = hmac.new(CONFIG["signing_secret"].encode(), body, hashlib.sha256).hexdigest()
    return {"X-Example-Signature": digest}


def test_installed_plugin_end_to_end(external_app: Flask, org: Any, other_org: Any) -> None:
    client = external_app.test_client()
    api, rival = ApiClient(client, org.admin_key), ApiClient(client, other_org.admin_key)
    plugins = {p["name"]: p for p in api.get("/api/plugins").json["items"]}
    assert plugins["example"]["distribution"] == "mycelium-example"

    bad = api.put("/api/integrations/example", json={**CONFIG, "signing_secret": "x"})
    assert bad.status_code == 400 and list(bad.json["error"]["details"]) == ["signing_secret"]
    enabled = api.put("/api/integrations/example", json=CONFIG)
    assert enabled.status_code == 200 and enabled.json["config"]["signing_secret"] == {"set": True}
    with external_app.app_context():
        raw = db.session.execute(sqlalchemy.text("SELECT * FROM integrations")).all()
        db.session.execute(
            sqlalchemy.text("UPDATE integrations SET external_account_id = 'acme-1'")
        )
        db.session.commit()
    assert "CLEARTEXT" not in repr(raw)

    assert client.get("/api/integrations/example/notes").status_code == 401
    assert (
        api.post("/api/integrations/example/notes", json={"body": "Acme only"}).status_code == 201
    )
    body = b"signed from outside"
    inbound = "/api/integrations/example/inbound/acme-1"
    assert client.post(inbound, data=body, headers={"X-Example-Signature": "00"}).status_code == 401
    assert client.post(inbound, data=body, headers=_sign(body)).status_code == 201
    notes = [n["body"] for n in api.get("/api/integrations/example/notes").json["items"]]
    assert notes == ["Acme only", "signed from outside"]

    # org B: cannot see or change A's integration, nor read A's plugin-table rows
    assert rival.get("/api/integrations/example").json["enabled"] is False
    assert rival.patch("/api/integrations/example", json={"label": "Mine"}).status_code == 404
    assert rival.get("/api/integrations/example/notes").status_code == 404
    rival.put("/api/integrations/example", json=CONFIG)
    assert rival.get("/api/integrations/example/notes").json["items"] == []
    assert rival.delete("/api/integrations/example").json["enabled"] is False
    assert api.get("/api/integrations/example").json["enabled"] is True
    assert len(api.get("/api/integrations/example/notes").json["items"]) == 2
