"""Each of the plugin's hooks, against the loopback Slack, connected through the hub's OAuth."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import mycelium_slack
import pytest
from croniter import croniter
from mycelium_slack.emulator import BOT_USER, TEAM, Member
from slack_helpers import connect, context, event

from hub import NeedsReauth, PermanentError, RateLimited, now

ADA_SLACK = "U0ADA"


@pytest.fixture
def team(slack, org):
    slack.members = [
        Member(ADA_SLACK, org.admin.email.upper(), "Ada Admin"),
        Member("U0BOTTY", "bot@x.test", "Some Bot", is_bot=True),
        Member("U0GONE", f"member@{org.org.slug}.example", "Max Member", deleted=True),
        Member("U0STRANGER", "stranger@x.test", "Stranger"),
    ]
    return slack


@pytest.fixture
def connected(client, api, team):
    connect(client, api, team)
    return team


@pytest.fixture
def deliverable(api, org) -> dict[str, Any]:
    made = api.post("/api/clients", json={"name": "<!channel> & Co"}).get_json()
    due = (now() - timedelta(days=2, hours=1)).isoformat()
    body = {
        "client_id": made["id"],
        "title": "Logo refresh",
        "assignee_id": org.admin.id,
        "due_at": due,
    }
    response = api.post("/api/deliverables", json=body)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def call(app, hook: str, type_: str = "", data: Any = None, event_id: str = "evt_1", **kw):
    with app.app_context():
        ctx = context(app)
        args = {"ctx": ctx, **kw}
        if type_:
            args["event"] = event(ctx, type_, data if data is not None else {}, event_id)
        result = getattr(mycelium_slack, hook)(**args)
        ctx.db.commit()
        return result


def sync(app):
    from mycelium_slack import notify, users

    with app.app_context():
        ctx = context(app)
        result = users.sync_all(ctx.db, ctx.org.id, notify.slack_client(ctx))
        ctx.db.commit()
        return result


def test_hook_register_providers(api):
    listed = api.get("/api/plugins").get_json()
    plugins = listed["items"] if isinstance(listed, dict) else listed
    [slack] = [p for p in plugins if p["name"] == "slack"]
    assert slack["title"] == "Slack" and slack["distribution"] == "mycelium-slack"


def test_hook_register_routes(app):
    rules = {r.rule for r in app.url_map.iter_rules()}
    assert {
        "/api/integrations/slack/users",
        "/api/integrations/slack/commands",
        "/api/integrations/slack/events",
    } <= rules


def test_hook_register_models(app):
    from sqlalchemy import inspect

    from hub import db_session

    with app.app_context():
        tables = set(inspect(db_session().get_bind()).get_table_names())
    assert {"slack_users", "slack_messages"} <= tables


def test_hook_register_jobs():
    jobs: list[tuple[Any, ...]] = []
    mycelium_slack.register_jobs(register=lambda *job: jobs.append(job))
    [(name, cron, function)] = jobs
    assert name == "user_sync" and croniter.is_valid(cron)
    assert function is mycelium_slack.lifecycle.sync_users_job


def test_connect_keeps_team_and_webhook_encrypted(app, connected, org):
    with app.app_context():
        ctx = context(app)
        assert ctx.org.id == org.id and ctx.integration.external_account_id == TEAM["id"]
        assert ctx.secret("oauth.incoming_webhook_url") == connected.webhook_url
        assert ctx.secret("oauth.bot_user_id") == BOT_USER
        assert ctx.secret("oauth.team_name") == TEAM["name"]
    authorize = connected.calls("authorize")[0]["args"]
    assert authorize["scope"] == (
        "incoming-webhook,chat:write,chat:write.public,channels:read,"
        "users:read,users:read.email,commands"
    )


def test_hook_on_deliverable_overdue(app, connected, deliverable):
    sync(app)
    call(app, "on_deliverable_overdue", "deliverable.overdue", deliverable, deliverable=deliverable)
    [message] = connected.messages
    assert message["via"] == "webhook"  # no channel configured: the incoming webhook
    assert f"<@{ADA_SLACK}>" in message["text"] and "2 days overdue" in message["text"]
    assert "&lt;!channel&gt; &amp; Co" in message["text"]


def test_hook_on_deliverable_due(app, api, connected, deliverable):
    assert (
        api.patch("/api/integrations/slack", json={"default_channel": "#studio"}).status_code == 200
    )
    call(app, "on_deliverable_due", "deliverable.due_soon", deliverable, deliverable=deliverable)
    [message] = connected.messages
    assert message["via"] == "chat.postMessage" and message["channel"] == "#studio"
    assert "Due soon: Logo refresh" in message["text"]
    assert "Ada Admin" in message["text"]  # not mapped yet: the name, not a mention
    assert connected.calls("chat.postMessage")[0]["headers"]["Authorization"].startswith(
        "Bearer xoxb-emulated-"
    )


def test_hook_on_deliverable_completed(app, api, org, connected, deliverable):
    sync(app)
    done = api.post(f"/api/deliverables/{deliverable['id']}/complete").get_json()
    call(app, "on_deliverable_completed", "deliverable.completed", done, deliverable=done)
    [message] = connected.messages
    assert (
        f"Completed: Logo refresh for &lt;!channel&gt; &amp; Co by <@{ADA_SLACK}>"
        in (message["text"])
    )


def test_hook_on_client_created(app, api, connected):
    made = api.post("/api/clients", json={"name": "Globex", "contact_person": "Hank"}).get_json()
    call(app, "on_client_created", "client.created", made, client=made)
    [message] = connected.messages
    assert message["text"] == "🎉 New client: Globex"


def test_hook_on_event(app, api, connected):
    call(
        app,
        "on_event",
        "integration.needs_reauth",
        {"plugin": "dropbox", "status": "needs_reauth", "reason": "invalid_grant"},
        "evt_a",
    )
    call(app, "on_event", "client.updated", {"name": "Globex"}, "evt_b")  # not chosen
    call(app, "on_event", "deliverable.overdue", {"id": 1, "title": "x"}, "evt_c")  # own hook
    call(app, "on_event", "integration.disabled", {"plugin": "slack"}, "evt_e")  # itself
    assert [m["text"] for m in connected.messages] == [
        "🔑 Reconnect Dropbox: its credentials were refused"
    ]
    api.patch("/api/integrations/slack", json={"notify_events": ["client.updated"]})
    call(app, "on_event", "client.updated", {"name": "Globex"}, "evt_d")
    assert connected.messages[-1]["text"] == "📢 Client updated: Globex"


def test_a_repeated_run_posts_once(app, connected, deliverable):
    for _ in range(2):
        call(
            app,
            "on_deliverable_overdue",
            "deliverable.overdue",
            deliverable,
            event_id="evt_same",
            deliverable=deliverable,
        )
    assert len(connected.messages) == 1


def test_hook_on_user_created(app, api, connected):
    connected.members.append(Member("U0NEW", "new.person@acme.test", "New Person"))
    user = api.post("/api/users", json={"email": "New.Person@acme.test", "name": "New"})
    assert user.status_code == 201
    call(app, "on_user_created", "user.created", user.get_json(), user=user.get_json())
    mapping = {u["email"]: u for u in api.get("/api/integrations/slack/users").get_json()["items"]}
    assert mapping["New.Person@acme.test"]["slack_user_id"] == "U0NEW"
    assert connected.calls("users.lookupByEmail")[0]["args"] == {"email": "New.Person@acme.test"}


def test_hook_on_integration_enabled(app, org, connected):
    call(
        app,
        "on_integration_enabled",
        "integration.enabled",
        {"plugin": "slack"},
        integration={"plugin": "slack"},
    )
    call(
        app,
        "on_integration_enabled",
        "integration.enabled",
        {"plugin": "slack"},
        integration={"plugin": "slack"},
    )
    [message] = connected.messages  # the same event twice: one test message
    assert "Mycelium Hub is connected" in message["text"] and "#general" in message["text"]
    assert len(connected.calls("users.list")) == 4  # two syncs of two pages (page size 2)


def test_user_mapping_route(app, api, member_api, org, connected):
    sync(app)
    items = api.get("/api/integrations/slack/users").get_json()["items"]
    by_email = {i["email"]: i["slack_user_id"] for i in items}
    assert by_email == {org.admin.email: ADA_SLACK, f"member@{org.org.slug}.example": None}
    assert member_api.get("/api/integrations/slack/users").status_code == 200


def test_user_mapping_is_per_organization(app, other_api, connected):
    sync(app)
    assert other_api.get("/api/integrations/slack/users").status_code == 404


def test_hook_health_check(app, connected):
    result = call(app, "health_check")
    assert result.ok and result.message == f"Connected to {TEAM['name']}."
    connected.valid_tokens.clear()
    with pytest.raises(NeedsReauth, match="invalid_auth"):
        call(app, "health_check")


def test_hook_send_test_message(app, api, org, connected):
    sync(app)
    api.patch("/api/integrations/slack", json={"default_channel": "#studio"})
    user = {"id": org.admin.id, "name": "Ada Admin", "email": org.admin.email}
    said = call(app, "send_test_message", user=user)
    assert said == "A test message was posted to #studio in Slack."
    assert f"asked by <@{ADA_SLACK}>" in connected.messages[0]["text"]


def test_test_endpoint_runs_health_check_and_message(api, connected):
    report = api.post("/api/integrations/slack/test").get_json()
    assert report["health"]["ok"] is True
    assert report["test_message"]["ok"] is True and len(connected.messages) == 1


def test_archived_channel_is_a_permanent_error_naming_it(app, api, connected, deliverable):
    api.patch("/api/integrations/slack", json={"channels": {"deliverable.overdue": "#archived"}})
    with pytest.raises(PermanentError, match="#archived"):
        call(
            app,
            "on_deliverable_overdue",
            "deliverable.overdue",
            deliverable,
            deliverable=deliverable,
        )


def test_slack_429_is_rate_limited(app, connected, deliverable):
    connected.rate_limit_next("/services/", retry_after=9)
    with pytest.raises(RateLimited) as caught:
        call(
            app,
            "on_deliverable_overdue",
            "deliverable.overdue",
            deliverable,
            deliverable=deliverable,
        )
    assert caught.value.retry_after == 9


def test_sync_maps_by_email_any_case_skipping_bots_and_deleted(app, connected, org):
    result = sync(app)
    assert (result.matched, result.unmatched) == (1, 1)
    connected.members[0].email = "someone.else@x.test"
    assert sync(app).matched == 0  # a mapping that no longer matches is dropped


def test_daily_job_maps_the_users_of_each_connected_org(app, api, connected, org):
    from hub.jobs import run_recurring
    from hub.testing import run_jobs

    run_jobs(app)  # the connect's own sync
    connected.members.append(Member("U0MAX", f"member@{org.org.slug}.example", "Max"))
    with app.app_context():
        run_recurring("slack:user_sync", now().isoformat())
    run_jobs(app)
    items = api.get("/api/integrations/slack/users").get_json()["items"]
    mapped = {i["email"]: i["slack_user_id"] for i in items}
    assert mapped == {org.admin.email: ADA_SLACK, f"member@{org.org.slug}.example": "U0MAX"}


def test_rotating_tokens_are_refreshed_and_installation_details_kept(
    app, client, api, slack, hub_clock
):
    slack.rotation = True
    connect(client, api, slack)
    [first] = slack.valid_tokens
    hub_clock.advance(hours=12)  # Slack's rotating tokens last 12 hours
    slack.valid_tokens.discard(first)
    assert call(app, "health_check").ok
    refresh = slack.calls("oauth.v2.access")[-1]["body"].decode()
    assert "grant_type=refresh_token" in refresh and "refresh_token=xoxe-1-refresh-" in refresh
    assert slack.calls("auth.test")[-1]["headers"]["Authorization"] != f"Bearer {first}"
    with app.app_context():
        ctx = context(app)
        assert ctx.secret("oauth.incoming_webhook_url") == slack.webhook_url  # kept
