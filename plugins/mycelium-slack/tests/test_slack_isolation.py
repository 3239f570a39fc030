"""Tenant isolation of every route the plugin mounts: two organizations, two workspaces."""

from __future__ import annotations

import json
import time

from mycelium_slack.emulator import TEAM, Member
from slack_helpers import connect

from hub.testing import run_jobs

OTHER_TEAM = {"id": "T0RIVALS", "name": "Rival Workspace"}
CORE_NAMES = {
    "connect",
    "callback",
    "connection",
    "test",
    "status",
    "analytics",
    "roi",
    "runs",
    "webhooks",
}
PREFIX = "/api/integrations/slack/"


def test_every_slack_route_keeps_organizations_apart(
    app, client, api, other_api, slack, org, other_org
):
    slack.members = [
        Member("U0ADA", org.admin.email, "Ada"),
        Member("U0RIVAL", other_org.admin.email, "Rita Rival"),
    ]
    connect(client, api, slack)
    slack.team = dict(OTHER_TEAM)
    connect(client, other_api, slack)
    run_jobs(app)  # both connects: user syncs and test messages

    mounted = {
        r.rule.removeprefix(PREFIX)
        for r in app.url_map.iter_rules()
        if r.rule.startswith(PREFIX) and r.rule.removeprefix(PREFIX) not in CORE_NAMES
    }
    assert mounted == {"users", "commands", "events"}  # a new route must join this walk

    # users: each org sees its own people and mappings only
    ours = api.get(PREFIX + "users").get_json()["items"]
    theirs = other_api.get(PREFIX + "users").get_json()["items"]
    assert {i["slack_user_id"] for i in ours} == {"U0ADA", None}
    assert {i["slack_user_id"] for i in theirs} == {"U0RIVAL", None}
    assert not {i["email"] for i in ours} & {i["email"] for i in theirs}

    # commands: the team decides the org; a rival in our workspace is nobody here
    mine = api.post("/api/clients", json={"name": "Ours"}).get_json()
    target = api.post("/api/deliverables", json={"client_id": mine["id"], "title": "Ours"})
    target_id = target.get_json()["id"]

    def command(team, user, text):
        body = (
            f"team_id={team}&user_id={user}&command=%2Fmycelium-complete&text={text}&response_url="
        ).encode()
        return client.post(PREFIX + "commands", data=body, headers=slack.sign(body)).get_json()

    assert "not linked" in command(TEAM["id"], "U0RIVAL", target_id)["text"]
    assert "no deliverable" in command(OTHER_TEAM["id"], "U0RIVAL", target_id)["text"]
    assert api.get(f"/api/deliverables/{target_id}").get_json()["status"] == "todo"

    # events: the rival workspace uninstalling disconnects the rival org only
    body = json.dumps(
        {
            "type": "event_callback",
            "team_id": OTHER_TEAM["id"],
            "event": {"type": "app_uninstalled"},
        }
    ).encode()
    headers = {**slack.sign(body, int(time.time())), "Content-Type": "application/json"}
    assert client.post(PREFIX + "events", data=body, headers=headers).status_code == 200
    assert other_api.get("/api/integrations/slack").get_json()["enabled"] is False
    assert api.get("/api/integrations/slack").get_json()["enabled"] is True
    assert api.post("/api/integrations/slack/test").get_json()["health"]["ok"] is True
