from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from mycelium_slack.emulator import Member, SlackEmulator
from slack_helpers import ADA, CLIENT_URL, connect, context

from hub import now

pytest_plugins = ["hub.testing"]


@pytest.fixture
def slack() -> Iterator[SlackEmulator]:
    """A loopback Slack, with the hub's app credentials."""
    emulator = SlackEmulator().start()
    yield emulator
    emulator.stop()


@pytest.fixture
def hub_config(hub_config: dict[str, Any], slack: SlackEmulator) -> dict[str, Any]:
    """The hub pointed at the emulator."""
    return {**hub_config, **slack.settings(), "HUB_CLIENT_URL": CLIENT_URL}


@pytest.fixture
def connected(app, client, api, slack, org):
    slack.members = [Member(ADA, org.admin.email, "Ada Admin")]
    connect(client, api, slack)
    from mycelium_slack import notify, users

    with app.app_context():
        ctx = context(app)
        users.sync_all(ctx.db, ctx.org.id, notify.slack_client(ctx))
        ctx.db.commit()
    return slack


@pytest.fixture
def work(api, org):
    """Two clients and deliverables: Ada's overdue one, Ada's later one, Max's overdue one."""
    globex = api.post("/api/clients", json={"name": "Globex", "contact_person": "Hank"})
    acme = api.post("/api/clients", json={"name": "Acme Rockets"}).get_json()
    gid, members = globex.get_json()["id"], api.get("/api/users").get_json()["items"]
    max_id = next(u["id"] for u in members if u["email"].startswith("member@"))

    def deliverable(title, client_id, assignee, days):
        due = (now() + timedelta(days=days)).isoformat()
        body = {"client_id": client_id, "title": title, "assignee_id": assignee, "due_at": due}
        return api.post("/api/deliverables", json=body).get_json()

    return {
        "late": deliverable("Logo refresh", gid, org.admin.id, -2),
        "later": deliverable("Brand book", acme["id"], org.admin.id, 5),
        "soon": deliverable("Website copy", gid, org.admin.id, 1),
        "max": deliverable("Max's task", gid, max_id, -1),
    }
