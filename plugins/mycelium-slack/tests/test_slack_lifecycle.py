"""Slack set up but not connected does nothing; one workspace belongs to one organization."""

from __future__ import annotations

from urllib.parse import urlsplit

import requests
from mycelium_slack.emulator import TEAM

from hub.testing import make_org, run_jobs


def test_put_before_connecting_waits_and_creates_no_runs(app, api, slack, org):
    body = api.put("/api/integrations/slack", json={}).get_json()
    assert (body["enabled"], body["status"], body["connected"]) == (False, "not_connected", False)
    assert api.post("/api/clients", json={"name": "Globex"}).status_code == 201
    run_jobs(app)
    assert api.get("/api/integrations/runs?plugin=slack").get_json()["items"] == []
    assert slack.messages == []


def test_a_second_organization_cannot_connect_the_same_workspace(app, client, api, connected):
    other = make_org(app, "Other Agency")
    headers = {"Authorization": f"Bearer {other.admin_key}"}
    auth_url = urlsplit(
        client.get("/api/integrations/slack/connect", headers=headers).json["auth_url"]
    )
    launched = client.get(f"{auth_url.path}?{auth_url.query}")
    consent = requests.get(launched.headers["Location"], allow_redirects=False, timeout=10)
    back = urlsplit(consent.headers["Location"])
    done = client.get(f"{back.path}?{back.query}")
    assert "error=account_already_connected" in done.headers["Location"]
    theirs = client.get("/api/integrations/slack", headers=headers).json
    assert (theirs["enabled"], theirs["external_account_id"]) == (False, None)
    mine = api.get("/api/integrations/slack").get_json()
    assert (mine["enabled"], mine["external_account_id"]) == (True, TEAM["id"])
