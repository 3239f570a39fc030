"""End to end: `hub up` (what `make run` runs) as a user runs it, with its embedded Redis.

It says it runs only once the port answers, restarts a child that died, stops everything
on SIGHUP / SIGINT, finds what a killed `hub up` left behind, builds links for the port it
serves on, and replaces a demo key that no longer works.
"""

from __future__ import annotations

import json
import os
import signal
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest
from flask import Flask
from sqlalchemy import select
from support.hub_processes import HubProcess, gone, hub_env, wait_for
from support.net import free_port

from hub.app import create_app
from hub.core.apikeys import create_api_key
from hub.core.models import Organization, User
from hub.extensions import db
from hub.testing import ApiClient

pytestmark = pytest.mark.e2e

START_SECONDS = 90


def get(url: str, key: str | None = None) -> tuple[int | None, dict[str, Any]]:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=5) as r:
            return r.status, json.loads(r.read() or b"{}")
    except urllib.error.HTTPError as error:
        return error.code, {}
    except OSError:
        return None, {}


class Up:
    """One `hub up` process; its stdout and stderr in separate files."""

    def __init__(self, env: dict[str, str], port: int, folder: Path, name: str) -> None:
        self.port, self.var = port, Path(env["HUB_VAR_DIR"])
        self.base = f"http://127.0.0.1:{port}"
        self.process = HubProcess(["up", "--port", str(port)], env, folder / f"{name}.log")

    @property
    def log(self) -> str:
        return self.process.output()

    def wait_running(self) -> str:
        """Wait for "running"; the demo key it printed."""
        wait_for(
            lambda: "is running at" in self.log or not self.process.alive(), START_SECONDS, "up"
        )
        assert "is running at" in self.log, self.log
        return self.log.split("admin API key: ", 1)[1].split()[0]

    def children(self) -> dict[str, int]:
        record = json.loads((self.var / "hub-up.json").read_text())
        return {name: pid for name, (pid, _) in record["children"].items()}


def alive(pid: int) -> bool:
    """Running, and not a zombie waiting to be reaped."""
    return not gone(pid)


@pytest.fixture
def up_env(hub_config: dict[str, Any], tmp_path: Path) -> dict[str, str]:
    """`hub up`'s environment: the test's database, no REDIS_URL (the embedded Redis), no
    HUB_ENCRYPTION_KEYS (the key file), and a home of its own."""
    settings = {
        k: v for k, v in hub_config.items() if k not in ("REDIS_URL", "HUB_ENCRYPTION_KEYS")
    }
    env = hub_env(settings, HOME=str(tmp_path / "home"), HUB_LOG_LEVEL="INFO")
    for name in ("REDIS_URL", "HUB_ENCRYPTION_KEYS", "XDG_RUNTIME_DIR", "HUB_KEY_FILE_WARNED"):
        env.pop(name, None)
    (tmp_path / "home").mkdir()
    return env


@pytest.fixture
def ups(tmp_path: Path) -> Iterator[list[Up]]:
    started: list[Up] = []
    yield started
    for up in started:
        pids = up.children() if (up.var / "hub-up.json").exists() else {}
        up.process.kill()
        for pid in pids.values():
            if alive(pid):
                os.kill(pid, signal.SIGKILL)


def start_up(env: dict[str, str], ups: list[Up], tmp_path: Path, port: int | None = None) -> Up:
    up = Up(env, port or free_port(), tmp_path, f"up-{len(ups)}")
    ups.append(up)
    return up


def wait_restarted(up: Up, name: str, old_pid: int) -> int:
    wait_for(lambda: up.children()[name] != old_pid, 60, f"a new {name} process")
    # The record names the new pid the moment it is launched; the line that says so is
    # printed just after, so a busy machine can read the record between the two.
    wait_for(lambda: f"restarted the {name} process" in up.log, 10, f"{name}'s restart line")
    return up.children()[name]


def test_up_restarts_a_child_that_died_and_stops_everything_on_sighup(up_env, ups, tmp_path):
    up = start_up(up_env, ups, tmp_path)
    key = up.wait_running()
    assert get(f"{up.base}/api/health")[0] == 200  # "running" came after the port answered
    wait_for(lambda: "worker started" in up.log, 30, "the worker to say it started")
    assert up.log.count("HUB_ENCRYPTION_KEYS is unset") == 1
    assert not (tmp_path / "home" / ".gunicorn").exists()  # no control socket at home
    first = up.children()

    for name in ("worker", "redis", "web"):
        os.kill(up.children()[name], signal.SIGKILL)
        wait_restarted(up, name, first[name])
        assert up.process.alive(), up.log
    wait_for(lambda: get(f"{up.base}/api/health")[0] == 200, 60, "the restarted hub")
    api = f"{up.base}/api/me"
    assert get(api, key)[0] == 200

    every = set(first.values()) | set(up.children().values())
    up.process.signal(signal.SIGHUP)  # the terminal was closed
    assert up.process.proc.wait(60) == 0, up.log
    assert "stopping (SIGHUP)" in up.log and up.log.rstrip().endswith("stopped")
    assert not [pid for pid in every if alive(pid)]
    assert get(f"{up.base}/api/health")[0] is None
    assert not (up.var / "hub-up.json").exists()


def test_a_set_left_by_a_killed_up_is_stopped_at_the_next_start(up_env, ups, tmp_path):
    crashed = start_up(up_env, ups, tmp_path)
    crashed.wait_running()
    left = crashed.children()
    crashed.process.kill()  # SIGKILL: no chance to stop its children
    assert all(alive(pid) for pid in left.values())
    assert get(f"{crashed.base}/api/health")[0] == 200  # still serving, with no `hub up`

    again = start_up(up_env, ups, tmp_path, port=crashed.port)
    again.wait_running()
    assert "found processes left running by a `hub up` that did not stop" in again.log
    assert not [pid for pid in left.values() if alive(pid)]

    second = start_up(up_env, ups, tmp_path)  # the same HUB_VAR_DIR, another port
    assert second.process.proc.wait(60) == 1
    assert f"another `hub up` (pid {again.process.pid}) is running" in second.log

    elsewhere = dict(up_env, HUB_VAR_DIR=str(tmp_path / "other-var"))
    taken = start_up(elsewhere, ups, tmp_path, port=again.port)
    assert taken.process.proc.wait(60) == 1
    assert f"cannot listen on 127.0.0.1:{again.port}" in taken.log

    again.process.signal(signal.SIGINT)  # Ctrl-C
    assert again.process.proc.wait(60) == 0, again.log
    assert "stopping (SIGINT)" in again.log


def demo_admin_loses_its_user(app: Flask) -> None:
    """Another admin deletes the demo admin user (and with it the demo key)."""
    with app.app_context():
        org = db.session.scalar(select(Organization).where(Organization.slug == "demo-agency"))
        assert org is not None
        other = User(org_id=org.id, email="second@demo-agency.example", name="Second", role="admin")
        db.session.add(other)
        db.session.flush()
        _, key = create_api_key(db.session, org.id, "admin", "second admin", other)
        demo = db.session.scalar(select(User).where(User.email == "admin@demo-agency.example"))
        assert demo is not None
        demo_id = demo.id
        db.session.commit()
        db.session.remove()
    assert ApiClient(app.test_client(), key).delete(f"/api/users/{demo_id}").status_code == 204


def connect_url(base: str, key: str) -> str:
    request = urllib.request.Request(
        f"{base}/api/integrations/slack/connect", headers={"Authorization": f"Bearer {key}"}
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        launch = json.loads(answer.read())["auth_url"]
    assert launch.startswith(f"{base}/api/integrations/slack/authorize?"), launch
    # The launch URL is the hub's own; its one redirect names the provider and the callback.
    no_redirects = urllib.request.build_opener(_NoRedirect)
    try:
        no_redirects.open(launch, timeout=10)
    except urllib.error.HTTPError as redirect:
        assert redirect.code in (302, 303), redirect.code
        return unquote(redirect.headers["Location"])
    raise AssertionError(f"{launch} did not redirect")


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


def test_links_follow_the_port_and_a_dead_demo_key_is_replaced(up_env, ups, tmp_path, hub_config):
    env = dict(up_env, SLACK_CLIENT_ID="123.456", SLACK_CLIENT_SECRET="shh")
    first = start_up(env, ups, tmp_path)
    key = first.wait_running()
    assert f"127.0.0.1:{first.port}/api/integrations/slack/callback" in connect_url(first.base, key)
    first.process.signal(signal.SIGTERM)
    assert first.process.proc.wait(60) == 0, first.log

    app = create_app(hub_config)
    demo_admin_loses_its_user(app)
    assert get(f"{first.base}/api/me", key)[0] is None  # stopped; the key is dead anyway

    second = start_up(env, ups, tmp_path)
    fresh = second.wait_running()
    assert fresh != key and "no longer worked (HTTP 401); made a new one" in second.log
    status, me = get(f"{second.base}/api/me", fresh)
    assert (status, me.get("role")) == (200, "admin")
    assert get(f"{second.base}/api/me", key)[0] == 401
    assert (Path(env["HUB_VAR_DIR"]) / "demo_api_key").read_text().strip() == fresh
    assert f"127.0.0.1:{second.port}/api/integrations/slack/" in connect_url(second.base, fresh)
    second.process.signal(signal.SIGTERM)
    assert second.process.proc.wait(60) == 0, second.log
    with app.app_context():
        db.engine.dispose()
