"""Slash commands and the Events API: signed requests from Slack, answered for the right org."""

from __future__ import annotations

import json
import time
from urllib.parse import urlencode

import pytest
from mycelium_slack.emulator import BOT_USER, TEAM

from hub.testing import ApiClient, make_org

ADA = "U0ADA"
URL = "/api/integrations/slack/commands"
EVENTS = "/api/integrations/slack/events"


def form(command: str, text: str = "", user: str = ADA, team: str = TEAM["id"]) -> bytes:
    return urlencode(
        {
            "team_id": team,
            "user_id": user,
            "command": command,
            "text": text,
            "response_url": "https://hooks.slack.test/commands/1/2/3",
            "channel_id": "C0GENERAL",
            "trigger_id": "1.2",
        }
    ).encode()


def send(client, slack, command: str, text: str = "", **kw):
    body = form(command, text, **kw)
    response = client.post(URL, data=body, headers=slack.sign(body))
    assert response.status_code == 200, response.get_data(as_text=True)
    reply = response.get_json()
    assert reply["response_type"] == "ephemeral"
    return reply


def blocks_text(reply) -> str:
    return json.dumps(reply["blocks"], ensure_ascii=False)


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"X-Slack-Request-Timestamp": str(int(time.time()))},
        {"X-Slack-Request-Timestamp": str(int(time.time())), "X-Slack-Signature": "v0=00"},
    ],
)
def test_unsigned_or_badly_signed_commands_get_401(client, connected, work, headers):
    response = client.post(
        URL, data=form("/mycelium-complete", str(work["late"]["id"])), headers=headers
    )
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "invalid_signature"


def test_stale_and_tampered_commands_get_401_and_change_nothing(api, client, connected, work):
    body = form("/mycelium-complete", str(work["late"]["id"]))
    stale = client.post(URL, data=body, headers=connected.sign(body, int(time.time()) - 301))
    tampered = client.post(URL, data=body + b"&x=1", headers=connected.sign(body))
    assert (stale.status_code, tampered.status_code) == (401, 401)
    assert api.get(f"/api/deliverables/{work['late']['id']}").get_json()["status"] == "todo"


def test_unknown_workspace_gets_an_explanation(client, connected):
    reply = send(client, connected, "/mycelium-tasks", team="T0NOBODY")
    assert "not connected to Mycelium" in reply["text"]


def test_unknown_slack_user_gets_an_explanation(client, connected):
    reply = send(client, connected, "/mycelium-tasks", user="U0STRANGER")
    assert "not linked to a Mycelium user" in reply["text"]


def test_tasks_lists_my_open_deliverables_soonest_first(client, connected, work):
    reply = send(client, connected, "/mycelium-tasks")
    text = blocks_text(reply)
    order = [text.index(t) for t in ("Logo refresh", "Website copy", "Brand book")]
    assert order == sorted(order) and "Max's task" not in text
    assert reply["text"] == "Your open deliverables: 3"
    assert "🚨 overdue since" in text


def test_overdue_lists_the_teams_overdue_work(client, connected, work):
    reply = send(client, connected, "/mycelium-overdue")
    text = blocks_text(reply)
    assert "Logo refresh" in text and "Max's task" in text and "Brand book" not in text
    assert f"<@{ADA}>" in text and "Max Member" in text


def test_client_by_name_any_case_or_part(client, connected, work):
    exact = send(client, connected, "/mycelium-client", "globex")
    assert exact["text"] == "Globex: 3 open deliverables" and "Hank" in blocks_text(exact)
    part = send(client, connected, "/mycelium-client", "rock")
    assert part["text"].startswith("Acme Rockets")
    none = send(client, connected, "/mycelium-client", "<!channel>")
    assert none["text"] == "No client matches “&lt;!channel&gt;”."
    several = send(client, connected, "/mycelium-client", "e")
    assert several["text"].startswith("Several clients match")
    assert "Which client" in send(client, connected, "/mycelium-client")["text"]


def test_complete_completes_and_records_the_event(api, client, connected, work):
    late = work["late"]
    reply = send(client, connected, "/mycelium-complete", f"#{late['id']}")
    assert reply["text"].startswith("✅ Completed") and "Logo refresh" in reply["text"]
    done = api.get(f"/api/deliverables/{late['id']}").get_json()
    assert done["status"] == "completed" and done["completed_by"]["email"].startswith("admin@")
    events = api.get("/api/events?type=deliverable.completed").get_json()["items"]
    assert [e["data"]["id"] for e in events] == [late["id"]]
    again = send(client, connected, "/mycelium-complete", str(late["id"]))
    assert again["text"] == f"Deliverable #{late['id']} is already completed."


def test_complete_cannot_reach_another_organizations_work(app, client, connected, work):
    rival = make_org(app, "Rival Agency")
    theirs = ApiClient(app.test_client(), rival.admin_key)
    made = theirs.post("/api/clients", json={"name": "Theirs"}).get_json()
    target = theirs.post("/api/deliverables", json={"client_id": made["id"], "title": "T"})
    target_id = target.get_json()["id"]
    reply = send(client, connected, "/mycelium-complete", str(target_id))
    assert reply["text"] == f"There is no deliverable #{target_id} in Acme Studio."
    assert theirs.get(f"/api/deliverables/{target_id}").get_json()["status"] == "todo"


@pytest.mark.parametrize("text", ["", "abc", "12 13", "-4", "99999999999"])
def test_complete_needs_an_id(client, connected, text):
    assert "Which deliverable?" in send(client, connected, "/mycelium-complete", text)["text"]


@pytest.mark.parametrize(("command", "text"), [("/mycelium-dance", ""), ("/mycelium", "help")])
def test_anything_else_gets_help(client, connected, command, text):
    assert "/mycelium-complete <id>" in send(client, connected, command, text)["text"]


def test_one_command_with_subcommands_works_too(client, connected, work):
    assert send(client, connected, "/mycelium", "tasks")["text"] == "Your open deliverables: 3"


def test_url_verification_is_answered(client, connected):
    body = json.dumps({"type": "url_verification", "challenge": "3eZbrw1aB"}).encode()
    response = client.post(EVENTS, data=body, headers=connected.sign(body))
    assert response.get_json() == {"challenge": "3eZbrw1aB"}


def events_post(client, slack, payload):
    body = json.dumps(payload).encode()
    return client.post(
        EVENTS, data=body, headers={**slack.sign(body), "Content-Type": "application/json"}
    )


def test_unsigned_events_get_401(client, connected):
    response = client.post(EVENTS, json={"type": "url_verification", "challenge": "x"})
    assert response.status_code == 401


def test_bad_event_body_is_a_400(client, connected):
    body = b"{not json"
    response = client.post(EVENTS, data=body, headers=connected.sign(body))
    assert response.status_code == 400


@pytest.mark.parametrize(
    "event",
    [{"type": "app_uninstalled"}, {"type": "tokens_revoked", "tokens": {"bot": [BOT_USER]}}],
)
def test_uninstall_disconnects_the_organization(api, client, connected, event):
    answer = events_post(
        client, connected, {"type": "event_callback", "team_id": TEAM["id"], "event": event}
    )
    assert answer.status_code == 200
    slack = api.get("/api/integrations/slack").get_json()
    assert slack["enabled"] is False and slack["connected"] is False  # the tokens are gone
    reply = send(client, connected, "/mycelium-tasks")
    assert "not connected to Mycelium" in reply["text"]


def test_revoking_someone_elses_token_changes_nothing(api, client, connected):
    events_post(
        client,
        connected,
        {
            "type": "event_callback",
            "team_id": TEAM["id"],
            "event": {"type": "tokens_revoked", "tokens": {"oauth": ["U0ADMIN"], "bot": []}},
        },
    )
    assert api.get("/api/integrations/slack").get_json()["enabled"] is True


@pytest.mark.parametrize("tokens", [["U1"], "U1", {"bot": "U0BOT"}, {"bot": [1]}, None])
def test_a_malformed_tokens_field_is_a_400_naming_it_and_changes_nothing(
    api, client, connected, tokens
):
    event = {"type": "tokens_revoked", "tokens": tokens}
    answer = events_post(
        client, connected, {"type": "event_callback", "team_id": TEAM["id"], "event": event}
    )
    assert answer.status_code == 400, answer.get_data(True)
    assert "event.tokens" in answer.get_json()["error"]["details"]
    assert api.get("/api/integrations/slack").get_json()["enabled"] is True
