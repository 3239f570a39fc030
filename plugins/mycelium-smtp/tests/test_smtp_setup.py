"""Enabling email: the config schema, the connection test on PUT, and POST .../test."""

from __future__ import annotations

from typing import Any

import pytest
from smtp_helpers import PASSWORD, SmtpServer, free_port, smtp_config
from sqlalchemy import text

from hub.testing import OrgHandle

URL = "/api/integrations/smtp"


def test_enable_tests_the_connection_and_keeps_the_password_secret(
    api: Any, app: Any, smtp_server: SmtpServer
) -> None:
    response = api.put(URL, json=smtp_config(smtp_server.port))
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["enabled"] is True
    assert body["config"]["password"] == {"set": True}
    assert body["config"]["host"] == "127.0.0.1" and body["config"]["security"] == "starttls"
    assert PASSWORD not in response.get_data(as_text=True)
    with app.app_context():
        from hub import db_session

        raw = db_session().execute(text("SELECT config, secrets FROM integrations")).one()
    assert PASSWORD not in str(raw)
    assert smtp_server.mailbox.connections == 0  # tested: connect, TLS, login; nothing sent


def test_enable_refuses_a_wrong_password_with_the_servers_reason(
    api: Any, smtp_server: SmtpServer
) -> None:
    response = api.put(URL, json=smtp_config(smtp_server.port, password="wrong"))
    assert response.status_code == 400
    details = response.get_json()["error"]["details"]
    assert "535" in details["password"][0]
    assert api.get(URL).get_json()["enabled"] is False


def test_enable_refuses_a_server_that_is_down(api: Any) -> None:
    response = api.put(URL, json=smtp_config(free_port()))
    assert response.status_code == 400
    assert "Cannot connect" in response.get_json()["error"]["details"]["host"][0]


def test_enable_refuses_loopback_unless_allowed(
    api: Any, app: Any, smtp_server: SmtpServer
) -> None:
    app.config["HUB_EGRESS_ALLOWED_CIDRS"] = ()
    response = api.put(URL, json=smtp_config(smtp_server.port))
    assert response.status_code == 400
    assert "loopback" in response.get_json()["error"]["details"]["host"][0]


def test_without_the_connection_test_an_ip_is_still_guarded(api: Any, app: Any) -> None:
    app.config["SMTP_VERIFY_ON_ENABLE"] = "false"
    app.config["HUB_EGRESS_ALLOWED_CIDRS"] = ()
    for host in ("10.1.2.3", "169.254.169.254", "::1", "64:ff9b::7f00:1", "::ffff:0:a9fe:a9fe"):
        response = api.put(URL, json=smtp_config(25, host=host, security="ssl", port=465))
        assert response.status_code == 400, host
        assert "host" in response.get_json()["error"]["details"]


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"security": "tls"}, "security"),
        ({"port": 70000}, "port"),
        ({"preset": "yahoo"}, "preset"),
        ({"from_address": "not an address"}, "from_address"),
        ({"password": ""}, "password"),
        ({"security": "none", "port": 25}, "security"),
        ({"host": "bad host!"}, "host"),
        ({"rate_limit_per_minute": 0}, "rate_limit_per_minute"),
        ({"from_name": "Evil\r\nBcc: x@y.example"}, "from_name"),
        ({"surprise": True}, "surprise"),
    ],
)
def test_bad_config_is_refused_naming_the_field(
    api: Any, smtp_server: SmtpServer, changes: dict[str, Any], field: str
) -> None:
    response = api.put(URL, json=smtp_config(smtp_server.port, **changes))
    assert response.status_code == 400
    assert field in response.get_json()["error"]["details"]
    assert smtp_server.mailbox.connections == 0


@pytest.mark.parametrize(
    ("preset", "host"),
    [
        ("gmail", "smtp.gmail.com"),
        ("outlook", "smtp.office365.com"),
        ("sendgrid", "smtp.sendgrid.net"),
        ("mailgun", "smtp.mailgun.org"),
    ],
)
def test_presets_fill_host_port_and_security(api: Any, app: Any, preset: str, host: str) -> None:
    app.config["SMTP_VERIFY_ON_ENABLE"] = "false"  # no real provider from the tests
    config = smtp_config(0, preset=preset)
    for key in ("host", "port", "security"):
        config.pop(key)
    response = api.put(URL, json=config)
    assert response.status_code == 200, response.get_json()
    stored = response.get_json()["config"]
    assert (stored["host"], stored["port"], stored["security"]) == (host, 587, "starttls")


def test_no_credentials_means_no_auth(api: Any, app: Any) -> None:
    app.config["SMTP_VERIFY_ON_ENABLE"] = "false"
    config = smtp_config(2525, username="", password="")
    response = api.put(URL, json=config)
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["config"]["password"] == {"set": False}


def test_hook_send_test_message(api: Any, org: OrgHandle, smtp_server: SmtpServer) -> None:
    """POST .../test: the health check logs in, and a branded email reaches the caller."""
    assert api.put(URL, json=smtp_config(smtp_server.port)).status_code == 200
    response = api.post(f"{URL}/test")
    assert response.status_code == 200, response.get_json()
    report = response.get_json()
    assert report["health"]["ok"] is True
    assert report["test_message"]["ok"] is True
    [received] = smtp_server.mailbox.received
    assert received.rcpt_tos == [org.admin.email]
    assert received.message["Subject"] == "[Acme Studio] Test email"
    assert report["test_message"]["message"].endswith(f"({received.message['Message-ID']}).")


def test_hook_health_check(api: Any, smtp_server: SmtpServer) -> None:
    assert api.put(URL, json=smtp_config(smtp_server.port)).status_code == 200
    smtp_server.stop()
    report = api.post(f"{URL}/test").get_json()
    assert report["health"]["ok"] is False
    assert "Cannot connect" in report["health"]["message"]
    assert report["test_message"]["ok"] is False
