"""SSRF: with the default egress policy, org-supplied webhook URLs may only reach the internet."""

from __future__ import annotations

import ipaddress

import pytest

BASE = "/api/integrations/webhooks"


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("https://10.0.0.8/hook", "private"),
        ("https://169.254.169.254/latest/meta-data", "link-local"),
        ("https://127.0.0.1/hook", "loopback"),
        ("https://[::1]/hook", "loopback"),
        ("https://[::ffff:127.0.0.1]/hook", "IPv4-mapped"),
        ("https://100.64.0.1/hook", "CGNAT"),
        ("https://localhost/hook", "loopback"),  # a name that resolves to 127.0.0.1
        ("http://example.com/hook", "https"),  # plain http is not allowed by default
    ],
)
def test_registration_refuses_destinations_the_hub_must_not_reach(api, url, why):
    response = api.post(BASE, json={"url": url, "events": ["*"]})
    assert response.status_code == 400, response.json
    [message] = response.json["error"]["details"]["url"]
    assert why in message
    assert api.get(BASE).json["items"] == []


def test_changing_the_url_is_checked_too(app, api):
    app.config["HUB_EGRESS_ALLOWED_CIDRS"] = (ipaddress.ip_network("127.0.0.0/8"),)
    created = api.post(BASE, json={"url": "https://127.0.0.1:9/hook", "events": ["*"]})
    assert created.status_code == 201, created.json
    response = api.patch(f"{BASE}/{created.json['id']}", json={"url": "https://10.1.2.3/x"})
    assert response.status_code == 400 and "url" in response.json["error"]["details"]
    assert api.get(f"{BASE}/{created.json['id']}").json["url"] == "https://127.0.0.1:9/hook"
