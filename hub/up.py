"""`hub up`: the whole hub on one box, with embedded defaults, until Ctrl-C."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import click
from sqlalchemy import select

from hub.app import create_app
from hub.config import load_config
from hub.core.apikeys import create_api_key
from hub.core.embedded_redis import EmbeddedRedis
from hub.core.migrations import upgrade
from hub.core.models import Organization, User
from hub.core.orgs import create_org
from hub.extensions import db
from hub.plugins import get_plugins

DEMO_SLUG = "demo-agency"


def ensure_demo_org(var: Path) -> str:
    """The demo organization's admin key, created (and kept in var/) on the first run."""
    key_file = var / "demo_api_key"
    if key_file.exists() and db.session.scalar(
        select(Organization.id).where(Organization.slug == DEMO_SLUG)
    ):
        return key_file.read_text().strip()
    org = db.session.scalar(select(Organization).where(Organization.slug == DEMO_SLUG))
    if org is None:
        org = create_org(db.session, "Demo Agency", "UTC")
        db.session.add(
            User(org_id=org.id, email="admin@demo-agency.example", name="Demo Admin", role="admin")
        )
        db.session.flush()
    admin = db.session.scalar(select(User).where(User.org_id == org.id, User.role == "admin"))
    _, secret = create_api_key(db.session, org.id, "admin", "demo admin (hub up)", admin)
    db.session.commit()
    key_file.write_text(secret + "\n")
    key_file.chmod(0o600)
    return secret


def _spawn(args: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "hub.cli", *args], env=env)


def _stop(children: list[subprocess.Popen[bytes]]) -> None:
    for child in children:
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + 15
    for child in children:
        try:
            child.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            child.kill()


def run_up(host: str, port: int) -> None:
    settings = load_config()
    var = Path(settings["HUB_VAR_DIR"])
    env: dict[str, Any] = dict(os.environ)
    redis_server = None
    if not os.environ.get("REDIS_URL"):
        redis_server = EmbeddedRedis(var / "redis.sock").start()
        env["REDIS_URL"] = redis_server.url
        click.echo(f"embedded Redis on {redis_server.url}", err=True)
    app = create_app({"REDIS_URL": env["REDIS_URL"]})
    with app.app_context():
        upgrade(app.config["HUB_DATABASE_URL"], get_plugins(app).migration_dirs())
        key = ensure_demo_org(var)
    children = [
        _spawn(["serve", "--host", host, "--port", str(port)], env),
        _spawn(["worker"], env),
    ]
    click.echo(f"Mycelium Hub is running at http://{host}:{port}/")
    click.echo(f"Demo organization admin API key: {key}")
    click.echo(f'Try: curl -H "Authorization: Bearer {key}" http://{host}:{port}/api/me')
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    try:
        while all(child.poll() is None for child in children):
            time.sleep(0.5)
        click.echo("a hub process stopped; shutting down", err=True)
    except KeyboardInterrupt:
        click.echo("stopping", err=True)
    finally:
        _stop(children)
        if redis_server is not None:
            redis_server.stop()
