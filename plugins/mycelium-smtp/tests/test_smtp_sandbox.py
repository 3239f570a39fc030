"""The template sandbox's limits: arithmetic, sizes, loops, output, allocation and time, for
previews, saved templates, queued emails and the emails hooks queue."""

from __future__ import annotations

from typing import Any

import pytest
from smtp_helpers import SmtpServer, smtp_config

from hub.testing import ApiClient, make_org, run_jobs

BASE = "/api/integrations/smtp"
PREVIEW = f"{BASE}/templates/client_welcome/preview"
STOPPED = "Stopped by the template sandbox"


@pytest.fixture(autouse=True)
def _time_is_not_the_limit(hub_config: dict[str, Any]) -> None:
    """Each case is stopped by the limit it names: on a loaded machine, the render-time
    limit (tested on its own below) must not stop it first."""
    hub_config["SMTP_TEMPLATE_RENDER_SECONDS"] = "60"


@pytest.fixture
def enabled(api: ApiClient, smtp_server: SmtpServer) -> ApiClient:
    response = api.put(BASE, json=smtp_config(smtp_server.port))
    assert response.status_code == 200, response.get_json()
    return api


def _preview_html(api: ApiClient, html: str) -> Any:
    return api.post(PREVIEW, json={"html": html})


def _stopped(response: Any, field: str, why: str) -> None:
    """A 400 naming `field`, saying the sandbox stopped it and which limit."""
    assert response.status_code == 400, response.get_json()
    [message] = response.get_json()["error"]["details"][field]
    assert message.startswith(STOPPED) and why in message, message


@pytest.mark.parametrize(
    ("html", "why"),
    [
        ("{{ (9 ** (9 ** 6)) > 0 }}", "** would make an integer of more than 4096 bits"),
        ("{{ (10 ** 300) * (10 ** 300) * (10 ** 300) * (10 ** 300) * (10 ** 300) }}", "4096 bits"),
        ("{{ 'x' * 3000000 }}", "the result of * would be longer than 1000000"),
        ("{% for i in range(200000) %}{% endfor %}", "a range of 200000 numbers is too long"),
        (
            "{% for i in range(400) %}{% for j in range(400) %}{% endfor %}{% endfor %}",
            "more than 100000 loop iterations",
        ),
        (
            "{% for i in range(60000) %}{{ 'y' * 20 }}{% endfor %}",
            "the rendered text would be longer than 1000000",
        ),
        ("{% set a = 'x' * 600000 %}{{ a ~ a }}", "a ~ concatenation would be longer"),
        ("{{ 'x'.center(3000000) }}", "an argument 3000000 is over 1000000"),
        ("{{ ('x' * 2000)|replace('x', 'y' * 1000) }}", "the result of |replace would be longer"),
        (
            "".join(f"{{% set a{i} = range(100000)|list %}}" for i in range(30)),
            "more than 5000000 characters or items",
        ),
    ],
    ids=[
        "power",
        "multiplication",
        "repetition",
        "range",
        "loops",
        "output",
        "concatenation",
        "method",
        "filter",
        "allocation",
    ],
)
def test_a_preview_past_a_limit_is_a_400_naming_the_part(
    enabled: ApiClient, member_api: ApiClient, html: str, why: str
) -> None:
    _stopped(_preview_html(member_api, html), "html", why)


def test_templates_cannot_change_lists_or_dicts(enabled: ApiClient) -> None:
    response = _preview_html(enabled, "{% set l = [1] %}{{ l.append(2) }}{{ l }}")
    assert response.status_code == 400
    assert "'append' is not allowed" in str(response.get_json()["error"]["details"])


def test_render_time_is_limited(make_app: Any, smtp_server: SmtpServer, redis_client: Any) -> None:
    app = make_app(SMTP_TEMPLATE_RENDER_SECONDS="0.3")
    api = ApiClient(app.test_client(), make_org(app, "Slowpoke").admin_key)
    assert api.put(BASE, json=smtp_config(smtp_server.port)).status_code == 200
    doubling = "{% macro f(n) %}{% if n %}{{ f(n - 1) }}{{ f(n - 1) }}{% endif %}{% endmacro %}"
    _stopped(_preview_html(api, doubling + "{{ f(16) }}"), "html", "longer than 0.3 s")


def test_a_saved_template_is_checked_against_the_limits(enabled: ApiClient) -> None:
    url = f"{BASE}/templates/client_welcome"
    heavy = {"subject": "{{ 'x' * 3000000 }}", "html": "<p>Hi</p>", "text": "Hi"}
    _stopped(enabled.put(url, json=heavy), "subject", "the result of *")
    assert enabled.get(url).get_json()["customized"] is False


# Fine with the sample data (a 6-letter client name: 216 iterations); a long name makes
# more than 100,000.
CUBED = (
    "{% for a in client_name %}{% for b in client_name %}{% for c in client_name %}"
    "{% endfor %}{% endfor %}{% endfor %}<p>Welcome, {{ client_name }}</p>"
)
LONG_NAME = "Consolidated Amalgamated Holdings of Greater Springfield Ltd"


def _save_cubed(api: ApiClient) -> None:
    body = {"subject": "Welcome {{ client_name }}", "html": CUBED, "text": "Welcome"}
    saved = api.put(f"{BASE}/templates/client_welcome", json=body)
    assert saved.status_code == 200, saved.get_json()


def test_a_queued_email_past_a_limit_is_a_400_naming_the_template(enabled: ApiClient) -> None:
    _save_cubed(enabled)
    body = {
        "template": "client_welcome",
        "to": ["hank@globex.example"],
        "variables": {"client_name": LONG_NAME},
    }
    _stopped(enabled.post(f"{BASE}/emails", json=body), "template", "loop iterations")
    assert enabled.get(f"{BASE}/emails?template=client_welcome").get_json()["items"] == []


def test_a_hooks_email_past_a_limit_is_a_failed_email(
    app: Any, api: ApiClient, smtp_server: SmtpServer
) -> None:
    config = smtp_config(smtp_server.port, send_client_welcome=True)
    assert api.put(BASE, json=config).status_code == 200
    _save_cubed(api)
    client = {"name": LONG_NAME, "contact_person": "Hank", "contact_email": "hank@x.example"}
    assert api.post("/api/clients", json=client).status_code == 201
    run_jobs(app)  # the hook queues the welcome; it does not render within the limits
    [welcome] = api.get(f"{BASE}/emails?template=client_welcome").get_json()["items"]
    assert welcome["status"] == "failed"
    assert STOPPED in welcome["error"] and "loop iterations" in welcome["error"]
    [failed] = api.get("/api/events?type=email.failed").get_json()["items"]
    assert failed["data"]["email_id"] == welcome["id"]
