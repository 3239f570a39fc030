"""Failed authentications are limited per client address (HUB_AUTH_FAIL_LIMIT): past the
limit that address gets 429 with Retry-After, valid key or not; other addresses do not."""

from __future__ import annotations

from typing import Any

import pytest

from hub.app import create_app
from hub.errors import ConfigError
from hub.testing import ApiClient

UNKNOWN = "mhk_000000000000_" + "x" * 43
BAD_KEYS = ["", "Bearer", "Bearer nonsense", f"Bearer {UNKNOWN}", "Basic dXNlcjpwdw=="]


@pytest.fixture
def hub_config(hub_config: dict[str, Any]) -> dict[str, Any]:
    return {**hub_config, "HUB_AUTH_FAIL_LIMIT": "5/minute"}


def _from(client: Any, address: str, authorization: str = "", path: str = "/api/me") -> Any:
    headers = {"Authorization": authorization} if authorization else {}
    return client.get(path, headers=headers, environ_base={"REMOTE_ADDR": address})


def test_past_the_limit_an_address_gets_429_even_with_a_good_key(client, org):
    for authorization in BAD_KEYS:  # missing, malformed, unknown, wrong scheme: all count
        assert _from(client, "10.0.0.1", authorization).status_code == 401
    refused = _from(client, "10.0.0.1", f"Bearer {org.admin_key}")
    assert refused.status_code == 429
    assert refused.get_json()["error"]["code"] == "rate_limited"
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert _from(client, "10.0.0.1", f"Bearer {UNKNOWN}").status_code == 429
    assert _from(client, "10.0.0.2", f"Bearer {org.admin_key}").status_code == 200
    assert _from(client, "10.0.0.2", f"Bearer {UNKNOWN}").status_code == 401


def test_a_revoked_key_counts_as_a_failure(client, api, org):
    created = api.post("/api/keys", json={"name": "old"}).get_json()
    api.delete(f"/api/keys/{created['id']}")
    for _ in range(5):
        assert _from(client, "10.0.0.3", f"Bearer {created['key']}").status_code == 401
    assert _from(client, "10.0.0.3", f"Bearer {org.admin_key}").status_code == 429


def test_good_keys_and_public_routes_do_not_count(client, org):
    for _ in range(10):
        assert _from(client, "10.0.0.4", f"Bearer {org.member_key}").status_code == 200
        assert _from(client, "10.0.0.4", path="/api/health").status_code in (200, 503)
        forbidden = _from(client, "10.0.0.4", f"Bearer {org.member_key}", "/api/keys")
        assert forbidden.status_code == 403  # a known key without the role: not a failure
    assert _from(client, "10.0.0.4", f"Bearer {UNKNOWN}").status_code == 401


def test_behind_a_trusted_proxy_each_forwarded_client_has_its_own_count(make_app, org):
    client = make_app(HUB_AUTH_FAIL_LIMIT="2/minute", HUB_TRUSTED_PROXIES="1").test_client()

    def via_proxy(forwarded: str, key: str) -> int:
        headers = {"Authorization": f"Bearer {key}", "X-Forwarded-For": forwarded}
        return client.get("/api/me", headers=headers).status_code

    assert [via_proxy("198.51.100.7", UNKNOWN) for _ in range(3)] == [401, 401, 429]
    assert via_proxy("198.51.100.8", org.admin_key) == 200
    assert via_proxy("spoofed, 198.51.100.7", org.admin_key) == 429  # the proxy's entry counts


def test_without_trusted_proxies_a_forged_forwarded_header_changes_nothing(client, org):
    for n in range(5):
        headers = {"Authorization": f"Bearer {UNKNOWN}", "X-Forwarded-For": f"192.0.2.{n}"}
        assert client.get("/api/me", headers=headers).status_code == 401
    assert ApiClient(client, org.admin_key).get("/api/me").status_code == 429


def test_off_means_no_limit(make_app, org):
    client = make_app(HUB_AUTH_FAIL_LIMIT="off").test_client()
    for _ in range(30):
        assert _from(client, "10.0.0.5", f"Bearer {UNKNOWN}").status_code == 401


@pytest.mark.parametrize("value", ["lots", "5/fortnight", "-1/minute"])
def test_a_malformed_limit_stops_start_up_naming_it(hub_config, value):
    with pytest.raises(ConfigError, match="HUB_AUTH_FAIL_LIMIT"):
        create_app({**hub_config, "HUB_AUTH_FAIL_LIMIT": value})
