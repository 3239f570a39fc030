"""`ctx.http` reads the environment's proxies once per scheme and host, not on every call,
and still uses them as requests does."""

from __future__ import annotations

from typing import Any

import pytest

from hub.core.connections import http
from hub.provider import Provider


def session() -> http.ProviderSession:
    return http.ProviderSession(
        org_id=1, provider=Provider(name="demo", title="Demo"), timeout=5, default_retry_after=5
    )


def settings(made: http.ProviderSession, url: str) -> dict[str, Any]:
    return dict(made.merge_environment_settings(url, {}, None, None, None))


def test_the_environments_proxies_are_read_once_per_host(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    monkeypatch.setenv("NO_PROXY", "inside.example")
    reads: list[str] = []
    real = http.get_environ_proxies

    def counted(url: str, no_proxy: Any = None) -> dict[str, str]:
        reads.append(url)
        return real(url, no_proxy=no_proxy)

    monkeypatch.setattr(http, "get_environ_proxies", counted)
    made = session()
    for _ in range(3):
        outside = settings(made, "https://api.example/2/files/upload_session/append_v2")
        inside = settings(made, "https://inside.example/2/x")
    assert outside["proxies"]["https"] == "http://proxy.example:3128"
    assert "https" not in inside["proxies"]  # NO_PROXY still holds
    assert reads == [
        "https://api.example/2/files/upload_session/append_v2",
        "https://inside.example/2/x",
    ]
    # a new session (the next job or request) reads the environment again
    monkeypatch.setenv("HTTPS_PROXY", "http://other.example:3128")
    again = settings(session(), "https://api.example/2/y")
    assert again["proxies"]["https"] == "http://other.example:3128"


def test_the_settings_are_what_requests_makes(monkeypatch: pytest.MonkeyPatch):
    import requests

    monkeypatch.setenv("HTTP_PROXY", "http://proxy.example:3128")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/bundle.pem")
    made, plain = session(), requests.Session()
    for url in ("http://api.example/2/x", "https://api.example/2/x"):
        for verify in (None, True, False):
            ours = made.merge_environment_settings(url, {}, None, verify, None)
            theirs = plain.merge_environment_settings(url, {}, None, verify, None)
            assert dict(ours) == dict(theirs)
    made.trust_env = plain.trust_env = False
    assert dict(made.merge_environment_settings("http://a.example/", {}, None, None, None)) == (
        dict(plain.merge_environment_settings("http://a.example/", {}, None, None, None))
    )
