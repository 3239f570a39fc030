"""End to end: `hub up --sandbox` (what `make demo` runs) as a newcomer runs it, with its
embedded Redis and SQLite: the printed link signs in, each plugin's emulator answers on
loopback, and the demo organization's integrations work through them: connect through the
consent pages, a new client gets its Dropbox folder and its Slack message, an upload in the
Dropbox sandbox reaches Slack, a slash command completes a deliverable, a meeting moved in
the calendar sandbox shows its new time in the hub. One `hub up` for the whole module."""

from __future__ import annotations

import contextlib
import itertools
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from html import unescape
from pathlib import Path
from typing import Any

import pytest
import requests
from e2e_processes import HubProcess, wait_for

pytestmark = pytest.mark.e2e

START_SECONDS = 120
WORK_SECONDS = 60  # a worker's job on a busy machine
LINK = "One-time console sign-in link (10 minutes): "


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def sandbox_env(var: Path) -> dict[str, str]:
    """What `make demo` sees on a fresh machine: no REDIS_URL, no database URL, no keys."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HUB_", "REDIS_"))}
    env.update(HUB_VAR_DIR=str(var), HOME=str(var.parent / "home"), HUB_LOG_LEVEL="INFO")
    for name in os.environ:
        if name.startswith(("SLACK_", "DROPBOX_", "GOOGLE_", "GCAL_")):
            env.pop(name, None)
    return env


@dataclass
class SandboxHub:
    process: HubProcess
    port: int
    var: Path
    pages: dict[str, str] = field(default_factory=dict)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log(self) -> str:
        return self.process.output()

    @property
    def key(self) -> str:
        return self.log.split("admin API key: ", 1)[1].split()[0]

    @property
    def link(self) -> str:
        return self.log.split(LINK, 1)[1].split()[0]

    def api(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        headers = {"Authorization": f"Bearer {self.key}"}
        return requests.request(method, self.base + path, headers=headers, timeout=30, **kwargs)

    def children(self) -> list[int]:
        import json

        record = self.var / "hub-up.json"
        if not record.exists():
            return []
        return [pid for pid, _ in json.loads(record.read_text())["children"].values()]


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxHub]:
    folder = tmp_path_factory.mktemp("sandbox")
    (folder / "home").mkdir()
    port = free_port()
    process = HubProcess(
        ["up", "--sandbox", "--port", str(port)], sandbox_env(folder / "var"), folder / "up.log"
    )
    hub = SandboxHub(process, port, folder / "var")
    try:
        wait_for(
            lambda: "Sandbox: open the sign-in link" in hub.log or not process.alive(),
            START_SECONDS,
            "hub up --sandbox",
        )
        assert process.alive(), hub.log
        hub.pages = dict(re.findall(r"sandbox: (.+?) at (http://\S+)", hub.log))
        yield hub
    finally:
        children = hub.children()
        code = process.stop(60)
        if code != 0:  # `hub up` stops its children itself; if it failed, leave no orphan
            for pid in children:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
        assert code == 0, hub.log[-3000:]


@pytest.fixture(scope="module")
def browser(sandbox: SandboxHub) -> requests.Session:
    """A browser that opened the printed link (the console posts its token): once only."""
    session = requests.Session()
    token = sandbox.link.split("#", 1)[1]
    answer = session.post(f"{sandbox.base}/api/session/link", json={"token": token}, timeout=10)
    assert answer.status_code == 201, answer.text
    assert answer.json()["user"]["email"] == "admin@demo-agency.example"
    again = requests.post(f"{sandbox.base}/api/session/link", json={"token": token}, timeout=10)
    assert again.status_code == 401
    return session


def consent(hub: SandboxHub, browser: requests.Session, plugin: str, choice: str) -> str:
    """Connect `plugin`: its consent page in the sandbox, `choice` clicked; the URL the
    browser lands on at the end."""
    started = hub.api("GET", f"/api/integrations/{plugin}/connect")
    assert started.status_code == 200, started.text
    page = browser.get(started.json()["auth_url"], timeout=10)
    assert page.status_code == 200 and "Sandbox" in page.text, page.text[:500]
    links = dict(
        (label, unescape(href)) for href, label in re.findall(r'href="([^"]+)">(\w+)<', page.text)
    )
    path = links[choice]
    emulator = (
        page.url.split("/o", 1)[0] if "/o/oauth2" in page.url else page.url.split("/oauth", 1)[0]
    )
    done = browser.get(emulator + path, timeout=30)
    return done.url


def test_hub_up_sandbox_refuses_a_host_other_than_loopback(tmp_path: Path) -> None:
    (tmp_path / "home").mkdir()
    env = sandbox_env(tmp_path / "var")
    run = subprocess.run(
        [sys.executable, "-m", "hub.cli", "up", "--sandbox", "--host", "0.0.0.0", "--port", "9"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 1
    assert "--sandbox serves on loopback only" in run.stderr
    assert not (tmp_path / "var" / "hub-up.json").exists()  # nothing was started


def test_the_link_signs_in_and_each_sandbox_answers(
    sandbox: SandboxHub, browser: requests.Session
) -> None:
    assert set(sandbox.pages) == {"Slack", "Dropbox", "Google Calendar"}, sandbox.log
    for url in sandbox.pages.values():
        assert url.startswith("http://127.0.0.1:")
        page = requests.get(url, timeout=10)
        assert page.status_code == 200 and 'class="banner"' in page.text and "Sandbox" in page.text
    described = {
        p["name"]: p["sandbox"] for p in browser.get(f"{sandbox.base}/api/plugins").json()["items"]
    }
    assert described["slack"] == sandbox.pages["Slack"]
    assert described["dropbox"] == sandbox.pages["Dropbox"]
    assert described["gcal"] == sandbox.pages["Google Calendar"]
    assert described["zapier"] is None


def test_the_demo_organization_is_seeded(sandbox: SandboxHub) -> None:
    users = {u["email"] for u in sandbox.api("GET", "/api/users").json()["items"]}
    assert {"admin@demo-agency.example", "ana@demo-agency.example"} <= users
    services = {s["name"] for s in sandbox.api("GET", "/api/service-types").json()["items"]}
    assert {"Web Design", "SEO", "Social Media"} <= services
    items = sandbox.api("GET", "/api/deliverables").json()["items"]
    now = datetime.now(UTC)
    due = [datetime.fromisoformat(d["due_at"]) for d in items]
    assert any(d < now for d in due), due  # overdue
    assert any(now < d < now + timedelta(hours=24) for d in due), due  # due soon
    slack = sandbox.api("GET", "/api/integrations/slack").json()
    assert "dropbox.file_added" in slack["config"]["notify_events"]


def _slack_text(hub: SandboxHub) -> str:
    return unescape(requests.get(hub.pages["Slack"], timeout=10).text)


def _dropbox_text(hub: SandboxHub) -> str:
    return unescape(requests.get(hub.pages["Dropbox"], timeout=10).text)


def _upload(hub: SandboxHub, folder: str, name: str, data: bytes) -> requests.Response:
    return requests.post(
        hub.pages["Dropbox"] + "/upload",
        data={"folder": folder},
        files={"file": (name, data)},
        timeout=30,
    )


def dropbox_reads_changes(hub: SandboxHub) -> None:
    """Until the hub reads Dropbox's changes from its cursor (``list_folder/continue``): the
    connect job takes the first cursor last, and a change notified before it is taken is
    folded into the first listing, not announced. Probe files go under Templates (no
    client's folder: no event)."""
    deadline = time.monotonic() + WORK_SECONDS
    for number in itertools.count(1):
        _upload(hub, hub_root(hub) + "/Templates", f"probe-{number}.txt", b"probe")
        try:
            wait_for(
                lambda: 'data-route="files/list_folder/continue"' in _dropbox_text(hub),
                5,
                "a sync from the cursor",
            )
            return
        except AssertionError:
            if time.monotonic() > deadline:
                raise


def hub_root(hub: SandboxHub) -> str:
    paths = re.findall(r'data-path="([^"]+)"', _dropbox_text(hub))
    return min(paths, key=len)


def test_the_journey_through_the_sandboxes(sandbox: SandboxHub, browser: requests.Session) -> None:
    # connect: Cancel at Slack's consent page changes nothing; Allow connects
    refused = consent(sandbox, browser, "slack", "Cancel")
    assert "error=access_denied" in refused, refused
    assert sandbox.api("GET", "/api/integrations/slack").json()["connected"] is False
    assert "success=slack" in consent(sandbox, browser, "slack", "Allow")
    assert "success=dropbox" in consent(sandbox, browser, "dropbox", "Allow")
    assert "success=gcal" in consent(sandbox, browser, "gcal", "Allow")
    for plugin in ("slack", "dropbox", "gcal"):
        state = sandbox.api("GET", f"/api/integrations/{plugin}").json()
        assert state["connected"] and state["enabled"], state

    # a new client: its Dropbox folder and its Slack message
    services = {
        s["name"]: s["id"] for s in sandbox.api("GET", "/api/service-types").json()["items"]
    }
    made = sandbox.api(
        "POST", "/api/clients", json={"name": "Acme Rockets", "service_type_ids": [services["SEO"]]}
    )
    assert made.status_code == 201, made.text
    wait_for(lambda: "Acme Rockets" in _dropbox_text(sandbox), WORK_SECONDS, "the client's folder")
    wait_for(lambda: "Acme Rockets" in _slack_text(sandbox), WORK_SECONDS, "the Slack message")
    dropbox_reads_changes(sandbox)
    folder = next(
        path
        for path in re.findall(r'data-path="([^"]+)"', _dropbox_text(sandbox))
        if path.endswith("/Acme Rockets")
    )

    # an upload in the Dropbox sandbox: Dropbox's webhook, then a Slack message
    uploaded = _upload(sandbox, folder, "brief.pdf", b"%PDF-1.4 sandbox brief")
    assert uploaded.status_code == 200 and "HTTP 200" in unescape(uploaded.text), uploaded.text
    try:
        wait_for(lambda: "brief.pdf" in _slack_text(sandbox), WORK_SECONDS, "the upload in Slack")
    except AssertionError as failure:
        events = [(e["type"], e["data"]) for e in sandbox.api("GET", "/api/events").json()["items"]]
        raise AssertionError(
            f"{failure}; events: {events[:8]}; {_dropbox_text(sandbox)[-2500:]}"
        ) from None

    # a slash command from the Slack sandbox completes a deliverable
    todo = next(
        d
        for d in sandbox.api("GET", "/api/deliverables").json()["items"]
        if d["status"] != "completed"
    )
    sent = requests.post(
        sandbox.pages["Slack"] + "/command",
        data={"command": f"/mycelium-complete {todo['id']}", "user_id": "U0ANA"},
        timeout=30,
    )
    assert sent.status_code == 200, sent.text
    wait_for(
        lambda: (
            sandbox.api("GET", f"/api/deliverables/{todo['id']}").json()["status"] == "completed"
        ),
        WORK_SECONDS,
        "the deliverable completed",
    )
    done = sandbox.api("GET", f"/api/deliverables/{todo['id']}").json()
    assert done["completed_by"]["email"] == "ana@demo-agency.example"

    # a meeting moved in the calendar sandbox shows its new time in the hub
    start = (datetime.now(UTC) + timedelta(days=2)).replace(minute=0, second=0, microsecond=0)
    meeting = sandbox.api(
        "POST",
        "/api/integrations/gcal/meetings",
        json={
            "deliverable_id": todo["id"],
            "title": "Review with Acme",
            "start_at": start.isoformat(),
            "duration_minutes": 30,
        },
    )
    assert meeting.status_code == 201, meeting.text
    event_id = meeting.json()["calendar_event_id"]
    calendar = requests.get(sandbox.pages["Google Calendar"], timeout=10).text
    assert f'data-event="{event_id}"' in calendar
    moved = requests.post(
        sandbox.pages["Google Calendar"] + "/move",
        data={"calendar_id": meeting.json()["calendar_id"], "event_id": event_id, "minutes": "60"},
        timeout=30,
    )
    assert moved.status_code == 200, moved.text
    later = start + timedelta(hours=1)

    def moved_in_hub() -> bool:
        found = sandbox.api("GET", f"/api/integrations/gcal/meetings/{meeting.json()['id']}").json()
        return datetime.fromisoformat(found["start_at"]) == later

    wait_for(moved_in_hub, WORK_SECONDS, "the meeting's new time in the hub")
