"""`hub up`: the whole hub on one box, with embedded defaults, until Ctrl-C (or SIGTERM, SIGHUP).

It clears the way first (a `hub up` already running under the same HUB_VAR_DIR is refused,
processes left by one that died are stopped, a port in use is named), says it runs only
once the web process answers, restarts a child that dies, and stops everything it started.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import select

from hub.app import create_app
from hub.config import load_config, served_url
from hub.console_commands import make_admin_link
from hub.core.apikeys import create_api_key
from hub.core.embedded_redis import EmbeddedRedis
from hub.core.migrations import upgrade
from hub.core.models import Organization, User
from hub.core.orgs import create_org
from hub.extensions import db
from hub.plugins import get_plugins
from hub.up_children import Child, Children, GiveUp, Signals, StopRequested, exit_status, say
from hub.up_record import UpRecord, cannot_listen, previous, stop_leftovers
from hub.up_sandbox import Running, SandboxRefused, check_host, environment, seed_demo, start_all
from hub.up_sandbox import stop_all as stop_sandboxes

DEMO_SLUG = "demo-agency"
KEY_FILE = "demo_api_key"
READY_SECONDS = 60.0  # how long the web process may take to answer at start-up


def _demo_org() -> Organization | None:
    return db.session.scalar(select(Organization).where(Organization.slug == DEMO_SLUG))


def ensure_demo_org(var: Path) -> str:
    """The demo organization's admin key, created (and kept in var/) on the first run."""
    org = _demo_org()
    if (var / KEY_FILE).exists() and org is not None:
        return (var / KEY_FILE).read_text().strip()
    if org is None:
        org = create_org(db.session, "Demo Agency", "UTC")
        db.session.add(
            User(org_id=org.id, email="admin@demo-agency.example", name="Demo Admin", role="admin")
        )
        db.session.flush()
    return mint_demo_key(var, org)


def mint_demo_key(var: Path, org: Organization) -> str:
    """A new admin key for the demo organization, tied to its first admin user if it has
    one, written to var/demo_api_key (mode 0600)."""
    admin = db.session.scalar(
        select(User).where(User.org_id == org.id, User.role == "admin").order_by(User.id)
    )
    _, secret = create_api_key(db.session, org.id, "admin", "demo admin (hub up)", admin)
    db.session.commit()
    var.mkdir(parents=True, exist_ok=True)
    fd = os.open(var / KEY_FILE, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(secret + "\n")
    return secret


def _get(url: str, key: str | None = None) -> tuple[int | None, dict[str, Any]]:
    """(status, JSON body) of a GET; (None, {}) when nothing answers."""
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {key}"} if key else {})
    try:
        with urllib.request.urlopen(request, timeout=5) as answer:
            return answer.status, json.loads(answer.read() or b"{}")
    except urllib.error.HTTPError as error:
        try:
            return error.code, json.loads(error.read() or b"{}")
        except ValueError:
            return error.code, {}
    except (OSError, ValueError):
        return None, {}


def checked_demo_key(app: Flask, var: Path, key: str, base: str) -> str:
    """The demo key if it still works as an admin key, else a new one (its user was
    deleted or demoted, the key revoked)."""
    status, me = _get(f"{base}/api/me", key)
    if (status == 200 and me.get("role") == "admin") or status not in (200, 401, 403):
        return key
    with app.app_context():
        org = _demo_org()
        assert org is not None  # ensure_demo_org made it before the web process started
        fresh = mint_demo_key(var, org)
        db.session.remove()
    say(f"the demo key in {var / KEY_FILE} no longer worked (HTTP {status}); made a new one")
    return fresh


def clear_the_way(var: Path, host: str, port: int) -> str | None:
    """Why `hub up` cannot start here, after stopping what a dead `hub up` left running."""
    found = previous(var)
    if found is not None and found.up_pid is not None:
        return (
            f"another `hub up` (pid {found.up_pid}) is running at {found.url} with "
            f"HUB_VAR_DIR={var}; stop it first (Ctrl-C in its terminal, or kill {found.up_pid})"
        )
    if found is not None:
        listed = ", ".join(f"{name} pid {pid}" for name, pid in found.leftovers.items())
        say(
            f"found processes left running by a `hub up` that did not stop: {listed}; stopping them"
        )
        stop_leftovers(found.leftovers)
    why = cannot_listen(host, port)
    if why is not None:
        return f"cannot listen on {host}:{port} ({why}); stop what uses it or pick another port"
    return None


def _spawn(args: list[str]) -> subprocess.Popen[bytes]:
    # The environment is read at each (re)start: it carries REDIS_URL, HUB_HOST and HUB_PORT.
    return subprocess.Popen(
        [sys.executable, "-m", "hub.cli", *args], env=dict(os.environ), start_new_session=True
    )


def _embedded_redis(socket_path: Path) -> subprocess.Popen[bytes]:
    process = EmbeddedRedis(socket_path).start(new_session=True).process
    assert process is not None
    return process


def _probe_host(host: str) -> str:
    """Where to reach a listener on `host`: a wildcard bind answers on loopback too."""
    return {"0.0.0.0": "127.0.0.1", "::": "::1"}.get(host, host)


def wait_until_serving(web: Child, base: str) -> None:
    """Return once GET /api/health answers; GiveUp if the web process stops first. A 503
    (a REDIS_URL that is down, say) is reported: the hub serves, and recovers with it."""
    deadline = time.monotonic() + READY_SECONDS
    while time.monotonic() < deadline:
        code = web.process.poll() if web.process is not None else None
        if code is not None:
            raise GiveUp(f"the web process stopped before it answered ({exit_status(code)})")
        status, checks = _get(f"{base}/api/health")
        if status is not None:
            if status != 200:
                say(f"warning: {base}/api/health answers {status} {json.dumps(checks)}")
            return
        time.sleep(0.2)
    raise GiveUp(f"{base}/api/health did not answer within {READY_SECONDS:g} s")


def _start(
    children: Children, var: Path, host: str, port: int, sandboxes: list[Running] | None = None
) -> tuple[Flask, str]:
    """Redis (embedded unless REDIS_URL is set), the database, web and worker; with a
    `sandboxes` list, each plugin's sandbox too (appended to it as started)."""
    if not os.environ.get("REDIS_URL"):
        socket_path = var / "redis.sock"
        children.start("redis", lambda: _embedded_redis(socket_path))
        os.environ["REDIS_URL"] = f"unix://{socket_path}"
        say(f"embedded Redis on {os.environ['REDIS_URL']}")
    app = create_app()
    with app.app_context():
        upgrade(app.config["HUB_DATABASE_URL"], get_plugins(app).migration_dirs())
        key = ensure_demo_org(var)
        db.session.remove()
    base = served_url(_probe_host(host), port)
    if sandboxes is not None:
        sandboxes += start_all(get_plugins(app), base)
        os.environ.update(environment(sandboxes))
        for each in sandboxes:
            say(f"sandbox: {each.title} at {each.page_url}")
    web = children.start("web", lambda: _spawn(["serve", "--host", host, "--port", str(port)]))
    children.start("worker", lambda: _spawn(["worker"]))
    wait_until_serving(web, base)
    key = checked_demo_key(app, var, key, base)
    if sandboxes is not None and seed_demo(base, key, sandboxes):
        say("sandbox: seeded the demo organization (people, clients, deliverables)")
    return app, key


def _announce(app: Flask, host: str, port: int, key: str) -> None:
    url, links = served_url(host, port), app.config["HUB_APP_URL"]
    print(f"Mycelium Hub is running at {url}/", flush=True)
    if links != url:
        print(f"Links (OAuth callbacks, emails) point at HUB_APP_URL={links}", flush=True)
    print(f"Demo organization admin API key: {key}", flush=True)
    print(f"Admin console: {links.rstrip('/')}/admin/", flush=True)
    print(f"One-time console sign-in link (10 minutes): {_console_link(app)}", flush=True)
    print(f'Try: curl -H "Authorization: Bearer {key}" {url}/api/me', flush=True)
    say("Ctrl-C stops everything")


def _console_link(app: Flask) -> str:
    """A one-time sign-in link for the demo organization's admin (`hub admin-link`)."""
    with app.app_context():
        org = _demo_org()
        assert org is not None
        link = make_admin_link(app, org, _demo_admin(org))
        db.session.remove()
    return link


def _demo_admin(org: Organization) -> User | None:
    stmt = select(User).where(User.org_id == org.id, User.role == "admin").order_by(User.id)
    return db.session.scalars(stmt).first()


def run_up(host: str, port: int, sandbox: bool = False) -> int:
    """Run until a signal; the exit status (0 when stopped by a signal, 1 on a failure).
    `sandbox`: the plugins' provider emulators too, on loopback only (``--sandbox``)."""
    if sandbox:
        try:
            check_host(host)
        except SandboxRefused as refused:
            say(f"Error: {refused}")
            return 1
    signals = Signals()
    signals.install()
    var = Path(load_config()["HUB_VAR_DIR"])
    refusal = clear_the_way(var, host, port)
    if refusal is not None:
        say(f"Error: {refusal}")
        return 1
    record = UpRecord.new(var, served_url(host, port))
    record.save()
    children = Children(record, signals)
    sandboxes: list[Running] | None = [] if sandbox else None
    try:
        app, key = _start(children, var, host, port, sandboxes)
        _announce(app, host, port, key)
        if sandboxes:
            print("Sandbox: open the sign-in link above, then Connect each integration", flush=True)
        children.watch()
    except StopRequested as stop:
        say(f"stopping ({stop})")
        return 0
    except (GiveUp, SandboxRefused) as failure:
        say(f"Error: {failure}; stopping")
        return 1
    finally:
        children.stop()
        stop_sandboxes(sandboxes or [])
        record.remove()
        say("stopped")
    return 0
