"""Journeys on the Integrations page in Chromium: sign in with a one-time link, enable email
through the generated form, test it, connect Slack through OAuth, member read-only, sign-out."""

from __future__ import annotations

import re

import pytest
import requests
from browser_helpers import admin_link, axe_violations, shot, sign_in_by_link, wait_for
from playwright.sync_api import expect

pytestmark = pytest.mark.e2e

# anchored: "port" is also in "transport", a field of the same form
HOST, PORT = re.compile(r"^host\b"), re.compile(r"^port\b")


def test_sign_in_enable_email_with_a_field_error_then_test_it(page, hub, hub_config, org, smtp):
    port, mailbox = smtp
    sign_in_by_link(page, hub_config, org, org.admin.email)
    assert "hub_session" in {c["name"] for c in page.context.cookies()}
    assert page.evaluate("() => document.cookie") == ""  # HttpOnly: no script sees it
    assert page.evaluate("() => Object.keys(localStorage).length") == 0
    shot(page, "integrations")
    assert axe_violations(page) == []

    card = page.locator("#integration-smtp")
    card.get_by_role("button", name="Enable").click()
    form = card.get_by_role("form", name="Email (SMTP) settings")
    expect(form.get_by_label("preset")).to_have_value("custom")  # the schema's default
    form.get_by_label(HOST).fill("127.0.0.1")
    form.get_by_label(PORT).fill("70000")
    form.get_by_label("security").select_option("none")
    form.get_by_label("from address").fill("studio@acme.example")
    form.get_by_role("button", name="Enable").click()
    port_error = form.locator("#cfg-smtp-port-error")
    expect(port_error).to_contain_text("less than or equal to 65535")
    expect(form.get_by_label(PORT)).to_have_attribute("aria-invalid", "true")
    shot(page, "integrations-field-error")

    form.get_by_label(PORT).fill(str(port))
    form.get_by_role("button", name="Enable").click()
    expect(page.locator("#banner")).to_contain_text("Email (SMTP) saved: enabled")
    expect(card.locator(".badge")).to_have_text("enabled")

    card.get_by_role("button", name="Test").click()
    expect(card.get_by_role("heading", name="Test result")).to_be_visible()
    wait_for(lambda: any(org.admin.email in rcpts for _, rcpts, _ in mailbox.received), "the mail")
    shot(page, "integrations-test")

    # the plugin's own page (register_console_pages), read through its API route
    page.get_by_role("link", name="Email templates").click()
    expect(page.get_by_role("heading", name="Email templates", level=1)).to_be_visible()
    expect(page.locator("#plugin-table")).to_contain_text("client_welcome")
    shot(page, "plugin-email-templates")
    assert axe_violations(page) == []

    # a template edited with its preview (ConsolePage.preview): the subject typed shows rendered,
    # the HTML in the organization's branding in a frame where nothing runs
    page.get_by_label("Edit a type").select_option("client_welcome")
    form = page.get_by_role("form", name="Save the template")
    subject = form.get_by_label("subject")
    expect(subject).to_have_value(re.compile(r"\{\{"))  # the saved template, read to edit
    shown = page.locator("#preview-subject")
    expect(shown).not_to_be_empty()
    email = page.frame_locator("iframe.preview-frame").frame_locator("iframe")
    expect(email.locator("body")).to_contain_text("glad to be working with")
    subject.fill("Draft for {{ client_name }}: not saved")
    expect(shown).to_have_text(re.compile(r"^Draft for (?!\{).+: not saved$"))
    form.get_by_label("html").fill("<p>{{ organization_name }} draft</p>")
    expect(email.locator("body")).to_contain_text(" draft")
    expect(email.locator("body")).not_to_contain_text("glad to be working with")
    shot(page, "plugin-email-template-preview")
    assert axe_violations(page) == []


def test_connect_slack_through_oauth_lands_back_with_a_banner(page, hub, hub_config, org, slack):
    sign_in_by_link(page, hub_config, org, org.admin.email)
    card = page.locator("#integration-slack")
    card.get_by_role("button", name="Connect").click()
    # the hub's launch URL, the emulator's consent, the callback, /settings/integrations
    expect(page).to_have_url(f"{hub}/admin/integrations")
    expect(page.locator("#banner")).to_have_text("Slack connected")
    expect(card.locator(".badge")).to_have_text("enabled")
    expect(card).to_contain_text("T0EMULATE")
    assert slack.calls("oauth.v2.access")
    shot(page, "integrations-connected")  # docs/images/console-integrations.png is a copy

    card.get_by_role("button", name="Disconnect").click()
    expect(page.locator("#banner")).to_contain_text("Slack disconnected")
    expect(card.get_by_role("button", name="Connect")).to_be_visible()


def test_a_failed_connect_says_why_in_words(page, hub, hub_config, org):
    sign_in_by_link(page, hub_config, org, org.admin.email)
    page.goto(f"{hub}/settings/integrations?error=browser_mismatch")
    expect(page).to_have_url(f"{hub}/admin/integrations")
    expect(page.locator("#banner")).to_contain_text("finished in another browser")


def test_a_member_sees_everything_and_no_admin_action(page, hub, hub_config, org):
    page.goto(f"{hub}/admin/")
    expect(page).to_have_url(f"{hub}/admin/signin?next=%2Fadmin%2F")
    page.get_by_label("API key").fill(org.member_key)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Integrations", exact=True)).to_be_visible()
    expect(page.locator("#who")).to_contain_text("member")
    expect(page.locator("#integration-smtp")).to_contain_text("Email (SMTP)")
    for label in ("Enable", "Configure", "Connect", "Test", "Disable", "Disconnect"):
        expect(page.get_by_role("button", name=label, exact=True)).to_have_count(0)
    shot(page, "integrations-member")


def test_a_wrong_key_is_refused_on_the_sign_in_page(page, hub, org):
    page.goto(f"{hub}/admin/signin")
    assert axe_violations(page) == []
    page.get_by_label("API key").fill("mhk_000000000000_not-a-real-key-at-all")
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#api-key-error")).to_contain_text("Unknown API key")
    shot(page, "signin")


def test_a_used_link_does_not_sign_in_twice(page, hub, hub_config, org, browser):
    link = admin_link(hub_config, org.org.slug)
    page.goto(link)
    expect(page.get_by_role("heading", name="Integrations", exact=True)).to_be_visible()
    other = browser.new_context().new_page()
    other.goto(link)
    expect(other.get_by_role("alert")).to_contain_text("unknown, expired or already used")
    other.context.close()


def test_sign_out_ends_the_session_and_the_old_cookie_gets_401(page, hub, hub_config, org):
    sign_in_by_link(page, hub_config, org, org.admin.email)
    cookie = next(c for c in page.context.cookies() if c["name"] == "hub_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(f"{hub}/admin/signin?signed_out=1")
    old = requests.get(f"{hub}/api/clients", cookies={"hub_session": cookie["value"]}, timeout=10)
    assert old.status_code == 401
    page.goto(f"{hub}/admin/integrations")
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()
