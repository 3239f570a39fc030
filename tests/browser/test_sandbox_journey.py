"""A person's journey through `hub up --sandbox` in a real browser (Chromium): the printed
link signs in, the console's Sandbox banner links the providers' pages, Slack and Dropbox
connect through their consent pages (Cancel, then Allow), a client created on the console's
Clients page gets its Dropbox folder and its Slack message, a file uploaded in the Dropbox
sandbox reaches Slack, a slash command typed in the Slack sandbox completes a deliverable,
and a meeting moved in the calendar sandbox shows its new time in the hub. One
`hub up --sandbox` for the module."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from browser_helpers import shot
from playwright.sync_api import expect
from support.sandbox_hub import WORK_SECONDS, SandboxHub, dropbox_reads_changes, running_sandbox

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxHub]:
    yield from running_sandbox(tmp_path_factory)


def reload_until(page: Any, check: Callable[[], bool], what: str) -> None:
    """Reload the (server-rendered) sandbox page until `check` holds: the hub works in a job."""
    deadline = time.monotonic() + WORK_SECONDS
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        page.wait_for_timeout(500)
        page.reload()


def connect(page: Any, plugin: str, choice: str) -> None:
    page.locator(f"#integration-{plugin}").get_by_role("button", name="Connect").click()
    expect(page.get_by_role("status").first).to_contain_text("Sandbox")  # the consent page
    page.get_by_role("link", name=choice).click()


def test_the_sandbox_journey_in_a_browser(page: Any, sandbox: SandboxHub) -> None:
    page.goto(sandbox.link)
    expect(page.locator("#integration-slack")).to_be_visible()
    banner = page.locator("#sandbox")
    expect(banner).to_contain_text("Sandbox")
    for title, url in sandbox.pages.items():
        expect(banner.get_by_role("link", name=title)).to_have_attribute("href", url)
    shot(page, "sandbox-console")

    connect(page, "slack", "Cancel")
    expect(page.locator("#banner")).to_contain_text("Connecting failed")
    connect(page, "slack", "Allow")
    expect(page.locator("#banner")).to_contain_text("Slack connected")
    connect(page, "dropbox", "Allow")
    expect(page.locator("#banner")).to_contain_text("Dropbox connected")
    connect(page, "gcal", "Allow")
    expect(page.locator("#integration-gcal .badge")).to_have_text("enabled")

    # a client created in the console, on its Clients page, as the demo agency's admin
    page.get_by_role("navigation", name="Console pages").get_by_role("link", name="Clients").click()
    expect(page.locator("#clients")).to_contain_text("Northwind Bakery")  # the seeded ones
    form = page.get_by_role("form", name="Add a client")
    form.get_by_label("Name").fill("Acme Rockets")
    form.get_by_label("Contact person").fill("Wile E. Coyote")
    form.get_by_label("Contact email").fill("wile@acme.example")
    form.get_by_label("Web Design").check()
    form.get_by_role("button", name="Add client").click()
    expect(page.locator("#banner")).to_contain_text("Acme Rockets added")
    expect(page.locator("#clients")).to_contain_text("Acme Rockets")
    shot(page, "sandbox-clients")
    made = next(
        c for c in sandbox.api("GET", "/api/clients").json()["items"] if c["name"] == "Acme Rockets"
    )
    assert [st["name"] for st in made["service_types"]] == ["Web Design"], made

    # ... its Slack message in the Slack sandbox's channel
    slack = page.context.new_page()
    slack.goto(sandbox.pages["Slack"])
    expect(slack.get_by_role("status")).to_contain_text("Sandbox")
    messages = slack.locator("#messages")
    reload_until(slack, lambda: "Acme Rockets" in messages.inner_text(), "the client in Slack")
    announced = messages.locator(".msg", has_text="New client").filter(has_text="Acme Rockets")
    expect(announced).to_contain_text("Wile E. Coyote")
    expect(announced).to_contain_text("Web Design")
    expect(announced).to_contain_text("@Demo Admin")  # who added it: the console's user

    # ... and its folder, with one per service under it, in the Dropbox sandbox's tree
    dropbox = page.context.new_page()
    dropbox.goto(sandbox.pages["Dropbox"])
    tree = dropbox.locator("ul.tree")
    service = 'li.folder[data-path$="/Clients/Acme Rockets/Work in Progress/Web Design"]'
    reload_until(dropbox, lambda: tree.locator(service).count() == 1, "the client's folders")
    dropbox_reads_changes(sandbox)
    dropbox.reload()
    folder = dropbox.locator('li.folder[data-path$="/Clients/Acme Rockets"]').get_attribute(
        "data-path"
    )
    dropbox.get_by_label("Folder").select_option(folder)
    dropbox.get_by_label("File", exact=True).set_input_files(
        {"name": "brief.pdf", "mimeType": "application/pdf", "buffer": b"%PDF-1.4 brief"}
    )
    dropbox.get_by_role("button", name="Upload").click()
    expect(dropbox.locator("ul.log")).to_contain_text(
        "brief.pdf; the hub answered the webhook HTTP 200"
    )
    shot(dropbox, "sandbox-dropbox")
    reload_until(slack, lambda: "brief.pdf" in messages.inner_text(), "the upload in Slack")

    todo = next(
        d
        for d in sandbox.api("GET", "/api/deliverables").json()["items"]
        if d["status"] != "completed"
    )
    slack.get_by_label("Member").select_option("U0ANA")
    slack.get_by_label("Slash command").fill(f"/mycelium-complete {todo['id']}")
    slack.get_by_role("button", name="Send").click()
    expect(slack.locator("#commands .command").first).to_contain_text(
        f"/mycelium-complete {todo['id']}"
    )
    shot(slack, "sandbox-slack")
    done = sandbox.api("GET", f"/api/deliverables/{todo['id']}").json()
    assert done["status"] == "completed" and done["completed_by"]["name"] == "Ana Lima", done

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
    calendar = page.context.new_page()
    calendar.goto(sandbox.pages["Google Calendar"])
    event = calendar.locator(f'[data-event="{meeting.json()["calendar_event_id"]}"]')
    expect(event).to_contain_text("Review with Acme")
    event.get_by_role("button", name="Move 1 hour later").click()
    shot(calendar, "sandbox-calendar")
    path = f"/api/integrations/gcal/meetings/{meeting.json()['id']}"
    later = start + timedelta(hours=1)
    reload_until(
        page,
        lambda: datetime.fromisoformat(sandbox.api("GET", path).json()["start_at"]) == later,
        "the moved meeting's new time in the hub",
    )
