"""What the plugin declares: OAuth v2 token parsing, quotas and the config schema."""

from __future__ import annotations

import marshmallow
import pytest
from mycelium_slack.provider import NOTIFY_DEFAULTS, PROVIDER, config_of, parse_token_response

from hub import NeedsReauth, PermanentError

# Slack's documented oauth.v2.access answer, with an incoming webhook.
INSTALL = {
    "ok": True,
    "access_token": "xoxb-17653672481-19874698323-pdFZKVeTuE8sk7oOcBrzbqgy",
    "token_type": "bot",
    "scope": "commands,incoming-webhook",
    "bot_user_id": "U0KRQLJ9H",
    "app_id": "A0KRD7HC3",
    "team": {"name": "Slack Softball Team", "id": "T9TK3CUKW"},
    "enterprise": {"name": "slack-sports", "id": "E12345678"},
    "authed_user": {
        "id": "U1234",
        "scope": "chat:write",
        "access_token": "xoxp-1234",
        "token_type": "user",
    },
    "incoming_webhook": {
        "channel": "#general",
        "channel_id": "C0GENERAL",
        "configuration_url": "https://teamname.slack.com/services/B1",
        "url": "https://hooks.slack.com/services/T9TK3CUKW/B1/XXXX",
    },
}


def test_install_answer_keeps_team_bot_installer_and_webhook():
    token = parse_token_response(INSTALL)
    assert token.access_token == INSTALL["access_token"]
    assert token.external_account_id == "T9TK3CUKW"
    assert token.refresh_token is None and token.expires_in is None
    assert token.token_type == "bot" and token.scope == "commands,incoming-webhook"
    assert token.extra == {
        "team_id": "T9TK3CUKW",
        "team_name": "Slack Softball Team",
        "bot_user_id": "U0KRQLJ9H",
        "app_id": "A0KRD7HC3",
        "authed_user_id": "U1234",
        "enterprise_id": "E12345678",
        "incoming_webhook_url": "https://hooks.slack.com/services/T9TK3CUKW/B1/XXXX",
        "incoming_webhook_channel": "#general",
        "incoming_webhook_channel_id": "C0GENERAL",
        "incoming_webhook_configuration_url": "https://teamname.slack.com/services/B1",
    }
    assert "xoxp-1234" not in repr(token.extra)  # the installer's user token is not kept


def test_token_rotation_answer_has_refresh_token_and_expiry():
    rotated = {
        **INSTALL,
        "access_token": "xoxe.xoxb-1-abc",
        "refresh_token": "xoxe-1-def",
        "expires_in": 43200,
        "enterprise": None,
        "is_enterprise_install": False,
    }
    del rotated["incoming_webhook"]
    token = parse_token_response(rotated)
    assert (token.access_token, token.refresh_token, token.expires_in) == (
        "xoxe.xoxb-1-abc",
        "xoxe-1-def",
        43200,
    )
    assert "incoming_webhook_url" not in token.extra  # a refresh keeps the stored one
    assert "enterprise_id" not in token.extra


@pytest.mark.parametrize("error", ["invalid_code", "bad_client_secret", "invalid_client_id"])
def test_ok_false_is_a_failed_connect(error):
    with pytest.raises(PermanentError, match=error) as caught:
        parse_token_response({"ok": False, "error": error})
    assert caught.value.details == {"error": error}


@pytest.mark.parametrize("error", ["invalid_refresh_token", "invalid_grant", "token_revoked"])
def test_refused_refresh_needs_reauth(error):
    with pytest.raises(NeedsReauth, match=error):
        parse_token_response({"ok": False, "error": error})


def test_answer_without_a_token_is_refused():
    with pytest.raises(PermanentError):
        parse_token_response({"ok": True, "team": {"id": "T1"}})


def test_provider_declares_oauth_scopes_settings_and_quotas():
    oauth = PROVIDER.oauth2
    assert PROVIDER.name == "slack" and PROVIDER.auth == "oauth2" and oauth is not None
    assert oauth.scopes == (
        "incoming-webhook",
        "chat:write",
        "chat:write.public",
        "channels:read",
        "users:read",
        "users:read.email",
        "commands",
    )
    assert oauth.scope_separator == ","
    assert (oauth.authorize_url_setting, oauth.token_url_setting) == (
        "SLACK_AUTHORIZE_URL",
        "SLACK_TOKEN_URL",
    )
    settings = {s.name: s for s in PROVIDER.settings}
    assert settings["SLACK_API_BASE"].default == "https://slack.com/api"
    assert settings["SLACK_AUTHORIZE_URL"].default == "https://slack.com/oauth/v2/authorize"
    assert settings["SLACK_TOKEN_URL"].default.endswith("/oauth.v2.access")
    assert settings["SLACK_SIGNING_SECRET"].secret and settings["SLACK_CLIENT_SECRET"].secret
    limits = PROVIDER.rate_limits
    assert limits is not None
    assert (limits.per_second, limits.per_minute, limits.per_hour, limits.per_day) == (
        20,
        100,
        4000,
        50000,
    )


def test_config_defaults():
    assert config_of({}) == {
        "default_channel": None,
        "channels": {},
        "notify_events": list(NOTIFY_DEFAULTS),
    }


def test_config_accepts_channels_per_event():
    config = config_of(
        {
            "default_channel": "#studio",
            "channels": {"deliverable.overdue": "C0123ABCD"},
            "notify_events": ["deliverable.overdue"],
        }
    )
    assert config["channels"] == {"deliverable.overdue": "C0123ABCD"}


@pytest.mark.parametrize(
    ("config", "field"),
    [
        ({"default_channel": "#has space"}, "default_channel"),
        ({"default_channel": "<!channel>"}, "default_channel"),
        ({"channels": {"not an event": "#x"}}, "channels"),
        ({"channels": {"client.created": "#a,#b"}}, "channels"),
        ({"notify_events": ["client.created", "DROP TABLE"]}, "notify_events"),
        ({"notify_events": "client.created"}, "notify_events"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_bad_config_names_the_field(config, field):
    with pytest.raises(marshmallow.ValidationError) as caught:
        config_of(config)
    assert field in caught.value.messages
