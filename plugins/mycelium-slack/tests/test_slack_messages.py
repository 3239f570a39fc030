"""Every message validated against Slack's own Block Kit models (slack_sdk) and limits."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from mycelium_slack import alerts, messages
from mycelium_slack.blocks import MAX_BLOCKS, Message, clip, escape, fit_blocks, section
from mycelium_slack.messages import Frame
from slack_sdk.models.blocks import Block

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
APP = "https://app.mycelium.test"
HOSTILE = "<!channel> & <@U0EVIL> <https://evil.test|click> *bold*"
HUGE = "x&<" * 5000
MAPPED = {7: "U0ADA"}


def mention(person: dict[str, Any] | None) -> str:
    from mycelium_slack.blocks import mention as slack_mention

    if not person:
        return "Unassigned"
    return slack_mention(MAPPED.get(person.get("id")), person.get("name"))


def frame(logo: str | None = "https://cdn.test/logo.png", company: str = "Acme Studio") -> Frame:
    return Frame(company, logo, "Europe/London", APP, NOW, mention)


def deliverable(**changes: Any) -> dict[str, Any]:
    base = {
        "id": 42,
        "client_id": 3,
        "client_name": "Globex",
        "service_type_id": 1,
        "service_type_name": "Branding",
        "title": "Logo refresh",
        "description": None,
        "assignee_id": 7,
        "assignee": {"id": 7, "name": "Ada Lovelace", "email": "ada@acme.test"},
        "due_at": (NOW - timedelta(days=3, hours=2)).isoformat(),
        "priority": "high",
        "status": "in_progress",
        "completed_at": None,
        "completed_by_id": None,
        "completed_by": None,
        "client_visible": False,
        "created_at": (NOW - timedelta(days=10)).isoformat(),
        "updated_at": NOW.isoformat(),
    }
    return {**base, **changes}


def client(**changes: Any) -> dict[str, Any]:
    base = {
        "id": 3,
        "name": "Globex",
        "contact_person": "Hank Scorpio",
        "contact_email": "hank@globex.test",
        "notes": None,
        "service_types": [{"id": 1, "name": "Branding"}, {"id": 2, "name": "Web"}],
        "created_at": NOW.isoformat(),
        "updated_at": NOW.isoformat(),
    }
    return {**base, **changes}


def mrkdwn_texts(payload: dict[str, Any]) -> list[str]:
    """The fallback text and every mrkdwn text: where Slack parses <...> and mentions."""
    found = [payload["text"]]

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") == "mrkdwn":
                found.append(node["text"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(payload["blocks"])
    return found


ALLOWED_CONTROL = re.compile(
    rf"^(@U0ADA|!date\^\d+\^[^|]*\|[^<>]*|{re.escape(APP)}/[^|<>]*\|[^<>]*|mailto:[^|<>]*\|[^<>]*)$"
)


def assert_valid(message: Message) -> dict[str, Any]:
    """Slack would accept it, and nothing in it pings or links where we did not mean to."""
    payload = message.payload()
    assert isinstance(payload["text"], str) and 0 < len(payload["text"]) <= 3000
    assert 0 < len(payload["blocks"]) <= MAX_BLOCKS
    for block in payload["blocks"]:
        assert Block.parse(block).to_dict() == block  # validates every Block Kit limit
    for text in mrkdwn_texts(payload):
        for control in re.findall(r"<([^>]*)>", text):
            assert ALLOWED_CONTROL.match(control), f"unexpected <{control}> in {text[:200]!r}"
    json.dumps(payload)
    return payload


def all_messages(f: Frame, d: dict[str, Any], c: dict[str, Any]) -> list[Message]:
    done = {**d, "completed_at": NOW.isoformat(), "completed_by": d["assignee"]}
    return [
        messages.deliverable_due(d, f),
        messages.deliverable_overdue(d, f),
        messages.deliverable_completed(done, f),
        messages.client_created(c, f),
        alerts.needs_reauth({"plugin": "dropbox", "reason": d["title"]}, f),
        alerts.integration_disabled({"plugin": "gcal", "reason": d["title"]}, f),
        alerts.endpoint_disabled({"endpoint": {"url": d["title"]}, "reason": d["title"]}, f),
        alerts.default("client.updated", c, f),
        alerts.test_message(f, "#general", d["assignee"]),
    ]


@pytest.mark.parametrize("logo", ["https://cdn.test/logo.png", None])
def test_every_message_is_valid_block_kit(logo):
    for message in all_messages(frame(logo), deliverable(), client()):
        assert_valid(message)


def test_every_message_stays_valid_with_hostile_and_huge_text():
    d = deliverable(title=HOSTILE + HUGE, client_name=HOSTILE, service_type_name=HUGE)
    d["assignee"] = {"id": 99, "name": HOSTILE, "email": "x@y.test"}
    c = client(name=HOSTILE + HUGE, contact_person=HOSTILE, service_types=[{"name": HUGE}] * 60)
    for message in all_messages(frame(company=HOSTILE + HUGE), d, c):
        payload = assert_valid(message)
        assert not any("<!channel>" in text for text in mrkdwn_texts(payload))


def test_a_client_called_channel_pings_nobody():
    payload = assert_valid(messages.client_created(client(name="<!channel>"), frame()))
    assert "<!channel>" not in json.dumps(payload)
    assert "&lt;!channel&gt;" in payload["text"]


def test_mapped_assignee_is_mentioned_unmapped_is_named():
    mapped = assert_valid(messages.deliverable_overdue(deliverable(), frame()))
    assert "<@U0ADA>" in mapped["text"] and "<@U0ADA>" in json.dumps(mapped["blocks"])
    other = deliverable(assignee={"id": 8, "name": "Bob & Co", "email": "b@x"}, assignee_id=8)
    named = assert_valid(messages.deliverable_overdue(other, frame()))
    assert "Bob &amp; Co" in named["text"] and "<@" not in named["text"]
    nobody = assert_valid(messages.deliverable_due(deliverable(assignee=None), frame()))
    assert "Unassigned" in nobody["text"]


def test_overdue_shows_days_and_buttons_to_the_front_end():
    payload = assert_valid(messages.deliverable_overdue(deliverable(), frame()))
    fields = [f["text"] for b in payload["blocks"] for f in b.get("fields", [])]
    assert "*Days overdue*\n3 days" in fields
    buttons = [e for b in payload["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert [(b["text"]["text"], b["url"]) for b in buttons] == [
        ("View deliverable", f"{APP}/deliverables/42"),
        ("Reassign", f"{APP}/deliverables/42/edit"),
    ]


@pytest.mark.parametrize(
    ("late", "shown"),
    [(timedelta(hours=5), "less than a day"), (timedelta(days=1, hours=1), "1 day")],
)
def test_days_overdue_wording(late, shown):
    assert messages.days_overdue(NOW - late, NOW) == shown


def test_due_soon_names_client_due_time_and_priority():
    d = deliverable(due_at=(NOW + timedelta(hours=20)).isoformat())
    payload = assert_valid(messages.deliverable_due(d, frame()))
    text = json.dumps(payload)
    assert "Deliverable due soon" in text and "Globex" in text and "High" in text
    epoch = int((NOW + timedelta(hours=20)).timestamp())
    assert f"<!date^{epoch}^" in text and "Wed 11 Mar 2026, 08:00 GMT" in text


def test_completed_says_who_and_how_long():
    d = deliverable(
        completed_at=NOW.isoformat(),
        completed_by={"id": 7, "name": "Ada Lovelace", "email": "ada@acme.test"},
        due_at=(NOW + timedelta(days=1)).isoformat(),
    )
    payload = assert_valid(messages.deliverable_completed(d, frame()))
    fields = [f["text"] for b in payload["blocks"] for f in b.get("fields", [])]
    assert "*Completed by*\n<@U0ADA>" in fields
    assert "*Time taken*\n10 days, on time" in fields
    late = assert_valid(
        messages.deliverable_completed({**d, "due_at": deliverable()["due_at"]}, frame())
    )
    assert "10 days, 3 days 2 hours late" in json.dumps(late)


def test_new_client_shows_contact_service_types_and_initial_deliverables():
    c = client(deliverables=[{"title": f"Task {i}"} for i in range(7)])
    text = json.dumps(assert_valid(messages.client_created(c, frame())))
    assert "Hank Scorpio" in text and "mailto:hank@globex.test" in text
    assert "Branding, Web" in text
    assert "7 created" in text and "Task 4" in text and "Task 5" not in text and "2 more" in text
    bare = json.dumps(
        assert_valid(
            messages.client_created(
                client(contact_person=None, contact_email=None, service_types=[]), frame()
            )
        )
    )
    assert "None yet" in bare


def test_branding_is_the_last_block():
    payload = assert_valid(messages.deliverable_due(deliverable(), frame()))
    brand = payload["blocks"][-1]
    assert brand["type"] == "context"
    assert brand["elements"][0] == {
        "type": "image",
        "image_url": "https://cdn.test/logo.png",
        "alt_text": "Acme Studio",
    }
    assert brand["elements"][1]["text"].startswith("*Acme Studio*")


def test_admin_alerts_say_what_to_do():
    reauth = assert_valid(
        alerts.needs_reauth(
            {"plugin": "dropbox", "status": "needs_reauth", "reason": "invalid_grant"}, frame()
        )
    )
    assert "Dropbox" in reauth["text"] and "invalid_grant" in json.dumps(reauth)
    disabled = assert_valid(alerts.integration_disabled({"plugin": "gcal"}, frame()))
    assert "Gcal integration disabled" in disabled["text"]
    hook = assert_valid(
        alerts.endpoint_disabled(
            {"endpoint": {"id": 1, "url": "https://x.test/h"}, "reason": "410 Gone"}, frame()
        )
    )
    assert "https://x.test/h" in hook["text"] and "410 Gone" in json.dumps(hook)
    assert f"{APP}/settings/webhooks" in json.dumps(hook)


def test_any_other_event_is_readable():
    payload = assert_valid(alerts.for_event("client.updated", client(), frame()))
    assert payload["text"] == "📢 Client updated: Globex"
    assert payload["blocks"][0]["text"]["text"] == "📢 Client updated"
    fields = [f["text"] for b in payload["blocks"] for f in b.get("fields", [])]
    assert "*Contact person*\nHank Scorpio" in fields
    assert alerts.readable_type("deliverable.due_soon") == "Deliverable due soon"


def test_for_event_picks_the_builder():
    assert "Deliverable overdue" in json.dumps(
        alerts.for_event("deliverable.overdue", deliverable(), frame()).payload()
    )


def test_more_than_fifty_blocks_are_cut_keeping_the_branding():
    blocks = [section(f"item {i}") for i in range(80)] + [frame().branding()]
    fitted = fit_blocks(blocks)
    assert len(fitted) == MAX_BLOCKS and fitted[-1]["type"] == "context"
    assert "32 more not shown" in fitted[-2]["text"]["text"]
    assert_valid(Message("list", blocks))


def test_clip_never_cuts_an_entity_in_half():
    text = escape("a" * 2990 + "&&&")
    assert clip(text, 3000) == "a" * 2990 + "&amp;…"
    assert clip(escape("a" * 2995 + "&&&"), 3000) == "a" * 2995 + "…"
    assert clip("short &amp;", 3000) == "short &amp;"


def test_new_client_says_who_added_it():
    ada = {"type": "user", "id": 7, "name": "Ada Admin", "email": "ada@x"}
    mentioned = json.dumps(assert_valid(messages.client_created(client(actor=ada), frame())))
    assert "Added by" in mentioned and "<@U0ADA>" in mentioned
    bob = {"type": "user", "id": 8, "name": "Bob & Co", "email": "b@x"}
    named = json.dumps(assert_valid(messages.client_created(client(actor=bob), frame())))
    assert "Bob &amp; Co" in named and "<@" not in named
    key = {"type": "api_key", "id": None, "name": "CRM sync", "email": None}
    by_key = json.dumps(assert_valid(messages.client_created(client(actor=key), frame())))
    assert "CRM sync (API key)" in by_key
