"""An egress refusal says how an operator allows the destination for development: plain
http with HUB_EGRESS_ALLOW_HTTP, a private or loopback address with HUB_EGRESS_ALLOWED_CIDRS."""

from __future__ import annotations

import pytest

from hub import egress
from hub.errors import EgressRefused
from hub.testing import ApiClient

HTTP_HINT = "HUB_EGRESS_ALLOW_HTTP=1"
CIDR_HINT = "HUB_EGRESS_ALLOWED_CIDRS"


def refusal(call, *args, **kwargs) -> str:
    with pytest.raises(EgressRefused) as refused:
        call(*args, **kwargs)
    (message,) = next(iter(refused.value.details.values()))
    assert message in refused.value.message
    return message


def test_a_plain_http_url_names_the_setting_that_allows_it():
    message = refusal(egress.check_url, "http://8.8.8.8/hook", {}, field="url")
    assert "Must be an https URL" in message and HTTP_HINT in message


def test_another_scheme_gets_no_http_hint():
    assert HTTP_HINT not in refusal(egress.check_url, "ftp://8.8.8.8/", {}, field="url")


@pytest.mark.parametrize(
    ("host", "cidr"),
    [("127.0.0.1", "127.0.0.1/32"), ("10.1.2.3", "10.1.2.3/32"), ("::1", "::1/128")],
)
def test_a_private_address_names_the_setting_and_a_cidr_for_it(host, cidr):
    literal = f"[{host}]" if ":" in host else host
    settings = {"HUB_EGRESS_ALLOW_HTTP": True}
    message = refusal(egress.check_url, f"http://{literal}:9/hook", settings, field="url")
    assert f"{CIDR_HINT}, e.g. {cidr}" in message
    assert f"{CIDR_HINT}, e.g. {cidr}" in refusal(egress.check_host, host, 25, {})


def test_a_name_resolving_to_loopback_gets_the_hint():
    assert f"{CIDR_HINT}, e.g. " in refusal(egress.check_host, "localhost", 25, {})


def test_the_api_answer_carries_the_hint(client, org):
    api = ApiClient(client, org.admin_key)
    answer = api.post(
        "/api/integrations/webhooks", json={"url": "http://127.0.0.1:9/x", "events": ["*"]}
    )
    assert answer.status_code == 400 and answer.json["error"]["code"] == "egress_refused"
    assert HTTP_HINT in answer.json["error"]["details"]["url"][0]
