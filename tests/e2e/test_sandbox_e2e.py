"""End to end: `hub up --sandbox` (what `make demo` runs) as a newcomer runs it, with its
embedded Redis and SQLite: the printed link signs in, each plugin's emulator answers on
loopback, and the demo organization's integrations work through them: connect through the
consent pages, a new client gets its Dropbox folder and its Slack message, an upload in the
Dropbox sandbox reaches Slack, a slash command completes a deliverable, a meeting moved in
the calendar sandbox shows its new time in the hub. One `hub up` for the whole module."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from html import unescape
from pathlib import Path

import pytest
import requests
from support.hub_processes import wait_for
from support.sandbox_hub import (
    WORK_SECONDS,
    SandboxHub,
    consent,
    dropbox_reads_changes,
    dropbox_text,
    running_sandbox,
    sandbox_env,
    signed_in,
    slack_text,
    upload,
)

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxHub]:
    yield from running_sandbox(tmp_path_factory)


@pytest.fixture(scope="module")
def browser(sandbox: SandboxHub) -> requests.Session:
    return signed_in(sandbox)


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
    wait_for(lambda: "Acme Rockets" in dropbox_text(sandbox), WORK_SECONDS, "the client's folder")
    wait_for(lambda: "Acme Rockets" in slack_text(sandbox), WORK_SECONDS, "the Slack message")
    dropbox_reads_changes(sandbox)
    folder = next(
        path
        for path in re.findall(r'data-path="([^"]+)"', dropbox_text(sandbox))
        if path.endswith("/Acme Rockets")
    )

    # an upload in the Dropbox sandbox: Dropbox's webhook, then a Slack message
    uploaded = upload(sandbox, folder, "brief.pdf", b"%PDF-1.4 sandbox brief")
    assert uploaded.status_code == 200 and "HTTP 200" in unescape(uploaded.text), uploaded.text
    try:
        wait_for(lambda: "brief.pdf" in slack_text(sandbox), WORK_SECONDS, "the upload in Slack")
    except AssertionError as failure:
        events = [(e["type"], e["data"]) for e in sandbox.api("GET", "/api/events").json()["items"]]
        raise AssertionError(
            f"{failure}; events: {events[:8]}; {dropbox_text(sandbox)[-2500:]}"
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
