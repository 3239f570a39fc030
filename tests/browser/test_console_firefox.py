"""The console in Firefox (Debian's `firefox-esr`, driven over WebDriver BiDi): sign in with a
one-time link, every section's page with axe-core, Email's template preview redrawn as the
subject is edited, every page at a phone's width, and sign-out; no script error and nothing
the CSP refused on the way."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from browser_helpers import AXE, SCREENSHOTS, admin_link
from firefox_bidi import Firefox, firefox_executable

pytestmark = pytest.mark.e2e

PAGES = {
    "integrations": "Integrations",
    "clients": "Clients",
    "webhooks": "Webhooks",
    "activity": "Activity",
    "usage": "Usage",
    "plugins/smtp?page=templates": "Email templates",
}
NAMES = {path: path if "?" not in path else "email-templates" for path in PAGES}
HEADING = "() => (document.querySelector('main h1') || {}).textContent || ''"


@pytest.fixture
def firefox() -> Iterator[Firefox]:
    executable = firefox_executable()
    if executable is None:
        if os.environ.get("CI"):
            pytest.fail("firefox-esr is not installed: .ci/run installs the Debian package")
        pytest.skip("firefox-esr (the Debian package) is not installed")
    browser = Firefox(executable)
    yield browser
    try:
        assert browser.errors == [], browser.errors  # no script error in any page
    finally:
        browser.close()


def axe_violations(firefox: Firefox) -> list[dict[str, Any]]:
    """Serious or critical violations axe-core finds (loaded by the driver, not the page).
    Not inside frames: the only one is the preview's, which holds the organization's email
    in an origin of its own, where axe's messages to it fail as script errors."""
    firefox.command(
        "script.evaluate",
        expression=AXE.read_text() + "\n;0",
        target={"context": firefox.context},
        awaitPromise=False,
    )
    return list(
        firefox.evaluate(
            """async () => (await axe.run(document, { iframes: false })).violations
                 .filter((v) => v.impact === "serious" || v.impact === "critical")
                 .map((v) => ({ id: v.id, nodes: v.nodes.map((n) => n.target) }))"""
        )
    )


def open_page(firefox: Firefox, hub: str, path: str, heading: str) -> None:
    firefox.goto(f"{hub}/admin/{path}")
    firefox.wait_for(f"() => ({HEADING})() === {heading!r}", f"the {heading} page")


def shot(firefox: Firefox, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    firefox.screenshot(SCREENSHOTS / f"firefox-{name}.png")


def pick_client_welcome(firefox: Firefox) -> None:
    firefox.evaluate(
        """() => { const pick = document.getElementById("plugin-pick");
                   pick.value = "client_welcome"; pick.dispatchEvent(new Event("change")); }"""
    )
    firefox.wait_for("() => document.getElementById('preview-subject')?.textContent", "a preview")


def test_console_in_firefox(firefox, hub, hub_config, org, smtp):
    port, _ = smtp
    enabled = requests.put(
        f"{hub}/api/integrations/smtp",
        headers={"Authorization": f"Bearer {org.admin_key}"},
        json={
            "host": "127.0.0.1",
            "port": port,
            "security": "none",
            "from_address": "studio@acme.example",
        },
        timeout=30,
    )
    assert enabled.status_code == 200, enabled.text

    firefox.goto(admin_link(hub_config, org.org.slug, org.admin.email))
    firefox.wait_for(f"() => ({HEADING})() === 'Integrations'", "the signed-in console")
    assert firefox.url() == f"{hub}/admin/integrations"  # the link's token left the address
    assert firefox.evaluate("() => document.cookie") == ""  # HttpOnly
    firefox.wait_for("() => !!document.querySelector('#integration-smtp .badge')", "the cards")
    assert (
        firefox.evaluate("() => document.querySelector('#integration-smtp .badge').textContent")
        == "enabled"
    )

    for path, heading in PAGES.items():
        open_page(firefox, hub, path, heading)
        assert axe_violations(firefox) == [], path
        shot(firefox, NAMES[path])

    # Email's template preview (ConsolePage.preview) redrawn as the subject is edited
    pick_client_welcome(firefox)
    firefox.evaluate(
        """() => { const subject = document.getElementById("page-smtp-subject");
                   subject.value = "Firefox draft for {{ client_name }}";
                   subject.dispatchEvent(new Event("input", { bubbles: true })); }"""
    )
    shown = firefox.wait_for(
        """() => { const text = document.getElementById('preview-subject').textContent;
                   return text.startsWith('Firefox draft for ') && text; }""",
        "the edited subject in the preview",
    )
    assert "{{" not in shown  # rendered, with the sample client's name
    assert axe_violations(firefox) == []
    shot(firefox, "email-template-preview")

    firefox.viewport(390, 844)
    for path, heading in PAGES.items():
        open_page(firefox, hub, path, heading)
        width = firefox.evaluate("() => document.documentElement.scrollWidth")
        assert width <= 390, f"{path} scrolls sideways on a phone ({width} px)"
        assert axe_violations(firefox) == [], path
        shot(firefox, f"{NAMES[path]}-phone")
    pick_client_welcome(firefox)
    width = firefox.evaluate("() => document.documentElement.scrollWidth")
    assert width <= 390, f"the template preview scrolls sideways on a phone ({width} px)"
    shot(firefox, "email-template-preview-phone")
    assert firefox.csp_refusals() == []

    firefox.evaluate("() => document.getElementById('sign-out').click()")
    firefox.wait_for("() => location.pathname === '/admin/signin'", "the sign-in page")
    firefox.goto(f"{hub}/admin/integrations")
    firefox.wait_for("() => location.pathname === '/admin/signin'", "sign-in, signed out")

    # what the checks above rely on can fail: an inline script refused, a script error seen
    firefox.evaluate(
        """() => { const s = document.createElement("script"); s.textContent = "1";
                   document.body.append(s); setTimeout(() => { throw new Error("seen"); }); }"""
    )
    firefox.wait_for("() => window.__cspRefusals.length > 0", "the CSP refusal")
    assert any("script-src" in refusal for refusal in firefox.csp_refusals())
    firefox.wait_for("() => new Promise((done) => setTimeout(() => done(true), 100))", "a tick")
    assert any("seen" in error for error in firefox.errors), firefox.errors
    firefox.errors.clear()
