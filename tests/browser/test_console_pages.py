"""Journeys on Clients, Webhooks, Activity and Usage in Chromium, against `hub serve` and a
worker: clients added (the API's field errors beside their fields), paged, edited, deleted; an
endpoint to a loopback receiver (its secret copied once, a delivery and its attempt seen,
resent), a failed run retried, an XSS client name shown as text, the charts drawn, and
axe-core on every page at desktop and phone width."""

from __future__ import annotations

from typing import Any

import pytest
import requests
from browser_helpers import axe_violations, shot, sign_in_by_link, wait_for
from playwright.sync_api import expect
from standardwebhooks import Webhook

pytestmark = pytest.mark.e2e
XSS = "<img src=x onerror=alert(1)>"


def api(hub: str, key: str, method: str, path: str, **kwargs: Any) -> Any:
    headers = {"Authorization": f"Bearer {key}"}
    response = requests.request(method, f"{hub}{path}", headers=headers, timeout=20, **kwargs)
    assert response.status_code < 300, response.text
    return response.json() if response.content else None


def test_webhook_endpoint_secret_delivery_attempt_and_resend(page, hub, hub_config, org, receiver):
    sign_in_by_link(page, hub_config, org, org.admin.email)
    page.get_by_role("link", name="Webhooks").click()
    form = page.get_by_role("form", name="Add an endpoint")
    form.get_by_label("URL").fill(receiver.url)
    form.get_by_label("Description").fill("Our CRM")
    form.get_by_label("client.created", exact=True).check()
    form.get_by_role("button", name="Add endpoint").click()
    secret = page.locator("#new-secret")
    expect(secret).to_contain_text("whsec_")
    shown = secret.inner_text()
    page.get_by_role("button", name="Copy secret").click()
    expect(page.get_by_text("Copied.")).to_be_visible()
    assert page.evaluate("() => navigator.clipboard.readText()") == shown
    shot(page, "webhooks")
    assert axe_violations(page) == []

    api(hub, org.admin_key, "POST", "/api/clients", json={"name": "Northwind"})
    wait_for(lambda: receiver.requests, "the delivery to reach the receiver")
    first = receiver.requests[0]
    payload = Webhook(shown).verify(first["body"], first["headers"])  # the copied secret signs
    assert payload["type"] == "client.created" and payload["data"]["name"] == "Northwind"

    card = page.locator(".card", has_text=receiver.url).last
    card.get_by_role("button", name="Deliveries").click()
    row = card.locator("tr", has_text="client.created")
    expect(row).to_contain_text("succeeded")
    expect(row).to_contain_text("200 in")
    expect(row.locator("pre")).to_contain_text("thanks\nsecond line")
    shot(page, "webhooks-deliveries")

    row.get_by_role("button", name="Resend").click()
    expect(page.locator("#banner")).to_contain_text("queued again")
    wait_for(lambda: len(receiver.requests) == 2, "the resent delivery")
    assert receiver.requests[1]["headers"]["Webhook-Id"] == first["headers"]["Webhook-Id"]
    card.get_by_role("button", name="Deliveries").click()
    expect(card.locator("tr", has_text="client.created").locator("li")).to_have_count(2)


def test_a_late_deliveries_answer_never_adds_a_second_table(page, hub, hub_config, org, receiver):
    """The panel drawn twice at once (Deliveries clicked while Resend's own refresh is on
    its way): the newest answer is shown once; the older one, arriving late, is dropped
    rather than drawn beside it as a second table."""
    api(hub, org.admin_key, "POST", "/api/integrations/webhooks",
        json={"url": receiver.url, "events": ["client.created"]})  # fmt: skip
    api(hub, org.admin_key, "POST", "/api/clients", json={"name": "Northwind"})
    wait_for(lambda: receiver.requests, "the delivery to reach the receiver")
    sign_in_by_link(page, hub_config, org, org.admin.email)
    page.get_by_role("link", name="Webhooks").click()
    card = page.locator(".card", has_text=receiver.url).last
    card.get_by_role("button", name="Deliveries").click()
    row = card.locator("tr", has_text="client.created")
    expect(row).to_contain_text("succeeded")

    held: list[Any] = []

    def hold_the_first(route: Any) -> None:
        if held:
            route.continue_()
        else:
            held.append(route)  # Resend's refresh: answered below, after the click's

    page.route("**/deliveries?limit=20", hold_the_first)
    row.get_by_role("button", name="Resend").click()
    for _ in range(300):  # playwright runs the handler while the page is waited on
        if held:
            break
        page.wait_for_timeout(50)
    assert held, "Resend's refresh never asked for the deliveries"
    wait_for(lambda: len(receiver.requests) == 2, "the resent delivery")
    card.get_by_role("button", name="Deliveries").click()
    expect(card.locator("tr", has_text="client.created").locator("li")).to_have_count(2)
    with page.expect_response("**/deliveries?limit=20"):
        held[0].continue_()
    page.wait_for_timeout(500)  # time for the late answer to be drawn, were it drawn
    expect(card.locator("table")).to_have_count(1)
    expect(card.locator("tr", has_text="client.created").locator("li")).to_have_count(2)


def test_a_failed_run_is_retried_from_activity(
    page, flaky_plugin, hub, hub_config, org, flaky_flag
):
    api(hub, org.admin_key, "PUT", "/api/integrations/flaky", json={})
    flaky_flag.write_text("fail")
    api(hub, org.admin_key, "POST", "/api/clients", json={"name": "Contoso"})

    def failed() -> list[dict[str, Any]]:
        path = "/api/integrations/runs?plugin=flaky&state=failed"
        return api(hub, org.admin_key, "GET", path)["items"]

    wait_for(failed, "the flaky run to fail")
    sign_in_by_link(page, hub_config, org, org.admin.email)
    page.get_by_role("link", name="Activity").click()
    page.get_by_label("Plugin").select_option("flaky")
    page.get_by_label("State").select_option("failed")
    page.get_by_role("button", name="Filter").click()
    expect(page).to_have_url(f"{hub}/admin/activity?plugin=flaky&state=failed")
    run = page.locator(f"#run-{failed()[0]['id']}")
    expect(run).to_contain_text("the flag file says fail")
    shot(page, "activity")
    assert axe_violations(page) == []

    flaky_flag.unlink()
    run.get_by_role("button", name="Retry").click()
    expect(page.locator("#banner")).to_contain_text("queued again")
    succeeded = "/api/integrations/runs?plugin=flaky&state=succeeded"
    wait_for(
        lambda: api(hub, org.admin_key, "GET", succeeded)["items"], "the retried run to succeed"
    )
    assert not failed()
    page.get_by_label("State").select_option("succeeded")
    page.get_by_role("button", name="Filter").click()
    expect(page.locator("#runs")).to_contain_text("succeeded")


def test_a_client_named_like_markup_is_shown_as_text(page, hub, hub_config, org):
    api(hub, org.admin_key, "POST", "/api/clients", json={"name": XSS})
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    sign_in_by_link(page, hub_config, org, org.admin.email)
    page.get_by_role("link", name="Activity").click()
    event = page.locator(".event", has_text="client.created").first
    event.locator("summary").click()
    expect(event.locator("pre")).to_contain_text(XSS)
    assert page.locator("main img").count() == 0
    assert dialogs == []
    shot(page, "activity-xss")


def test_usage_draws_charts_roi_and_the_last_24_hours(page, hub, hub_config, org, receiver):
    api(hub, org.admin_key, "POST", "/api/integrations/webhooks",
        json={"url": receiver.url, "events": ["*"]})  # fmt: skip
    for name in ("Initech", "Globex"):
        api(hub, org.admin_key, "POST", "/api/clients", json={"name": name})
    wait_for(lambda: len(receiver.requests) >= 2, "two deliveries")

    def delivered() -> int:
        report = api(hub, org.admin_key, "GET", "/api/integrations/analytics?period=daily")
        found = [i for i in report["integrations"] if i["plugin"] == "webhooks"]
        return found[0]["metrics"]["total_requests"] if found else 0

    wait_for(lambda: delivered() >= 2, "the deliveries' usage records")
    sign_in_by_link(page, hub_config, org, org.admin.email)
    page.get_by_role("link", name="Usage").click()
    calls = page.get_by_role("img", name="Calls per day per plugin")
    expect(calls).to_be_visible()
    assert calls.locator("circle").count() >= 1
    expect(page.get_by_role("img", name="Latency p50 and p95 per plugin")).to_be_visible()
    strip = page.get_by_role("img", name="Status of each integration over the last 24 hours")
    expect(strip).to_contain_text("Webhooks")
    assert strip.locator("rect").count() >= 24
    expect(page.locator("#roi")).to_contain_text("Hours saved")
    expect(page.get_by_role("table").first).to_contain_text("Webhooks")
    shot(page, "usage")
    assert axe_violations(page) == []


def test_clients_are_added_with_field_errors_paged_edited_and_deleted(page, hub, hub_config, org):
    seo = api(hub, org.admin_key, "POST", "/api/service-types", json={"name": "SEO"})
    made = [
        api(hub, org.admin_key, "POST", "/api/clients", json={"name": f"Client {n:02}"})
        for n in range(1, 26)
    ]
    sign_in_by_link(page, hub_config, org, org.admin.email)
    page.get_by_role("link", name="Clients").click()
    expect(page).to_have_url(f"{hub}/admin/clients")
    listing = page.locator("#clients tbody tr")
    expect(listing).to_have_count(25)  # a page is 25 clients
    expect(page.get_by_role("button", name="Previous page")).to_have_count(0)

    # the API's 4xx, each message next to the field it names
    form = page.get_by_role("form", name="Add a client")
    form.get_by_label("Contact email").fill("not an address")
    form.get_by_role("button", name="Add client").click()
    expect(form.locator("#new-client-name-error")).not_to_be_empty()
    expect(form.locator("#new-client-contact_email-error")).to_contain_text("email")
    expect(form.get_by_label("Contact email")).to_have_attribute("aria-invalid", "true")
    form.get_by_label("Name").fill("Client 01")
    form.get_by_label("Contact email").fill("wile@acme.example")
    form.get_by_role("button", name="Add client").click()
    expect(form.locator("#new-client-name-error")).to_have_text("Already taken.")
    expect(form.locator("#new-client-contact_email-error")).to_be_empty()

    form.get_by_label("Name").fill(XSS)
    form.get_by_label("Contact person").fill("Wile E. Coyote")
    form.get_by_label("Notes").fill("Wants rockets")
    form.get_by_label("SEO").check()
    form.get_by_role("button", name="Add client").click()
    expect(page.locator("#banner")).to_contain_text(f"{XSS} added")
    expect(form.get_by_label("Name")).to_have_value("")  # ready for the next one
    clients = api(hub, org.admin_key, "GET", "/api/clients?limit=200")["items"]
    added = next(c for c in clients if c["name"] == XSS)
    assert added["contact_email"] == "wile@acme.example" and added["notes"] == "Wants rockets"
    assert [st["id"] for st in added["service_types"]] == [seo["id"]]

    # the 26th client is on the next page
    page.get_by_role("button", name="Next page").click()
    expect(listing).to_have_count(1)
    expect(listing.first).to_contain_text(XSS)
    expect(listing.first).to_contain_text("Wile E. Coyote · wile@acme.example")
    expect(listing.first).to_contain_text("SEO")
    assert page.locator("main img").count() == 0  # the name is text
    assert "cursor=" in page.url
    expect(page.locator("nav.pager")).to_have_text("Previous page")
    shot(page, "clients")
    assert axe_violations(page) == []
    page.get_by_role("button", name="Previous page").click()
    expect(listing).to_have_count(25)
    expect(listing.first).to_contain_text("Client 01")
    page.get_by_role("button", name="Next page").click()

    page.get_by_role("button", name=f"Edit {XSS}").click()
    edit = page.get_by_role("form", name=f"Edit {XSS}")
    expect(edit.get_by_label("SEO")).to_be_checked()
    edit.get_by_label("Name").fill("Client 02")
    edit.get_by_role("button", name="Save").click()
    expect(edit.locator(f"#client-{added['id']}-name-error")).to_have_text("Already taken.")
    edit.get_by_label("Name").fill("Acme Rockets")
    edit.get_by_label("Contact email").fill("")
    edit.get_by_label("SEO").uncheck()
    edit.get_by_role("button", name="Save").click()
    expect(page.locator("#banner")).to_contain_text("Acme Rockets saved")
    expect(page.locator(f"#client-{added['id']}")).to_contain_text("Acme Rockets")
    changed = api(hub, org.admin_key, "GET", f"/api/clients/{added['id']}")
    assert changed["name"] == "Acme Rockets" and changed["contact_email"] is None
    assert changed["service_types"] == [] and changed["contact_person"] == "Wile E. Coyote"

    page.get_by_role("button", name="Delete Acme Rockets").click()
    page.get_by_role("group", name="Delete Acme Rockets").get_by_role(
        "button", name="Delete client"
    ).click()
    expect(page.locator("#banner")).to_contain_text("Acme Rockets deleted")
    expect(page.locator(f"#client-{added['id']}")).to_have_count(0)
    gone = requests.get(
        f"{hub}/api/clients/{added['id']}",
        headers={"Authorization": f"Bearer {org.admin_key}"},
        timeout=20,
    )
    assert gone.status_code == 404
    assert len(api(hub, org.admin_key, "GET", "/api/clients?limit=200")["items"]) == len(made)


@pytest.mark.parametrize("path", ["integrations", "clients", "webhooks", "activity", "usage"])
def test_every_page_at_phone_width_passes_axe(page, hub, hub_config, org, path):
    page.set_viewport_size({"width": 390, "height": 844})
    sign_in_by_link(page, hub_config, org, org.admin.email)
    page.goto(f"{hub}/admin/{path}")
    expect(page.locator("main h1")).to_be_visible()
    page.wait_for_load_state("networkidle")
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= 390, f"{path} scrolls sideways on a phone ({width} px)"
    shot(page, f"{path}-phone")
    assert axe_violations(page) == []


def test_the_accessibility_check_can_fail(page):
    page.set_content('<html><body><img src="x.png"><button></button></body></html>')
    found = {violation["id"] for violation in axe_violations(page)}
    assert {"image-alt", "button-name"} <= found


def test_a_plugins_own_page_is_laid_out_from_what_it_declares(
    page, flaky_plugin, hub, hub_config, org
):
    sign_in_by_link(page, hub_config, org, org.admin.email)
    page.get_by_role("link", name="Flaky notes").click()
    expect(page.get_by_role("heading", name="Flaky notes", level=1)).to_be_visible()
    expect(page.locator("#plugin-table")).to_contain_text("Nothing here yet.")
    form = page.get_by_role("form", name="Add a note")
    expect(form.get_by_label("mood")).to_have_value("calm")  # the schema's default
    form.get_by_label("text").fill("Wants the logo bigger")
    form.get_by_role("button", name="Add a note").click()
    expect(form.locator("#page-flaky-client-error")).to_contain_text("Missing data")
    form.get_by_label("client").fill(XSS)
    form.get_by_label("mood").select_option("urgent")
    form.get_by_role("button", name="Add a note").click()
    row = page.locator("#plugin-table tr", has_text="Wants the logo bigger")
    expect(row).to_contain_text(XSS)
    expect(row).to_contain_text("urgent")
    expect(row).to_contain_text(org.admin.email)
    assert page.locator("main img").count() == 0
    shot(page, "plugin-page")
    assert axe_violations(page) == []


def test_a_member_sees_a_plugins_page_without_its_form(page, flaky_plugin, hub, org):
    page.goto(f"{hub}/admin/signin")
    page.get_by_label("API key").fill(org.member_key)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("link", name="Flaky notes").click()
    expect(page.locator("#plugin-table")).to_contain_text("Nothing here yet.")
    expect(page.get_by_role("form")).to_have_count(0)
    api(hub, org.admin_key, "POST", "/api/clients", json={"name": "Northwind"})
    page.get_by_role("link", name="Clients").click()
    expect(page.locator("#clients")).to_contain_text("Northwind")
    expect(page.get_by_role("form")).to_have_count(0)
    expect(page.locator("#clients").get_by_role("button")).to_have_count(0)
