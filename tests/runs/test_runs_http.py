"""ctx.http: a timeout on every call, usage recorded per call, quota checked first, and a
provider's 429 turned into RateLimited(retry_after). Against a real loopback server."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from email.utils import format_datetime
from typing import Any

import pytest
import requests
from support.dispatch_tools import make_plugin, runs_of
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from hub import Provider, RateLimited
from hub.core import clock
from hub.core.connections.http import ProviderSession, provider_session
from hub.testing import run_jobs

PROVIDER = Provider(name="acme", title="Acme")


class Upstream:
    """A provider stand-in: each path answers as its name says."""

    def __init__(self) -> None:
        self.server = make_server("127.0.0.1", 0, self.wsgi, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)

    def wsgi(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        path = request.path
        if path == "/slow":
            time.sleep(2)
        if path == "/limited":
            return Response("slow down", 429, {"Retry-After": "42"})(environ, start_response)
        if path == "/limited-date":
            when = format_datetime(
                clock.now().replace(microsecond=0) + timedelta(seconds=120), usegmt=True
            )
            return Response("slow down", 429, {"Retry-After": when})(environ, start_response)
        if path == "/limited-bare":
            return Response("slow down", 429)(environ, start_response)
        return Response("x" * 100, 200)(environ, start_response)


@pytest.fixture
def upstream() -> Iterator[Upstream]:
    server = Upstream()
    server.thread.start()
    yield server
    server.server.shutdown()


class Recorded:
    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def __call__(self, **call: Any) -> None:
        self.calls.append(call)


def session(
    usage: Recorded | None = None, quota: Any = None, timeout: float = 5
) -> ProviderSession:
    return ProviderSession(
        org_id=7,
        provider=PROVIDER,
        timeout=timeout,
        default_retry_after=60,
        usage=usage,
        quota=quota,
    )


def test_every_call_is_recorded_with_org_provider_feature_status_duration_and_bytes(upstream):
    usage = Recorded()
    http = session(usage)
    http.feature = "on_client_created"
    assert http.get(f"{upstream.url}/ok").status_code == 200
    http.post(f"{upstream.url}/ok", json={"a": 1}, feature="folders")
    first, second = usage.calls
    assert first["org_id"] == 7 and first["plugin"] == "acme"
    assert (first["feature"], first["method"], first["status"], first["size"]) == (
        "on_client_created",
        "GET",
        200,
        100,
    )
    assert first["duration"] > 0
    assert (second["feature"], second["method"]) == ("folders", "POST")


def test_a_call_that_gets_no_answer_is_recorded_with_status_0_and_times_out(upstream):
    usage = Recorded()
    with pytest.raises(requests.Timeout):
        session(usage, timeout=0.3).get(f"{upstream.url}/slow")
    assert [(c["status"], c["feature"]) for c in usage.calls] == [(0, "other")]


def test_a_429_with_retry_after_seconds_becomes_rate_limited(upstream):
    usage = Recorded()
    with pytest.raises(RateLimited) as caught:
        session(usage).get(f"{upstream.url}/limited")
    assert caught.value.retry_after == 42
    assert [c["status"] for c in usage.calls] == [429]


def test_a_429_with_an_http_date_or_nothing_waits_accordingly(upstream, hub_clock):
    with pytest.raises(RateLimited) as dated:
        session().get(f"{upstream.url}/limited-date")
    assert dated.value.retry_after == pytest.approx(120, abs=1)
    with pytest.raises(RateLimited) as bare:
        session().get(f"{upstream.url}/limited-bare")
    assert bare.value.retry_after == 60


def test_the_quota_is_checked_before_the_call_goes_out(upstream):
    usage = Recorded()
    asked: list[tuple[int, str]] = []

    def quota(org_id: int, provider: Provider) -> None:
        asked.append((org_id, provider.name))
        raise RateLimited(5, "quota")

    with pytest.raises(RateLimited):
        session(usage, quota=quota).get(f"{upstream.url}/ok")
    assert asked == [(7, "acme")]
    assert usage.calls == []  # nothing was sent


def test_a_failing_recorder_never_breaks_the_plugins_call(upstream):
    def broken(**call: Any) -> None:
        raise RuntimeError("recorder down")

    assert session(broken).get(f"{upstream.url}/ok").status_code == 200


def test_the_app_session_takes_its_timeout_and_hook_points_from_the_app(app):
    usage, quota = Recorded(), lambda org_id, provider: None
    extensions = {"hub.usage": usage, "hub.quota": quota}
    http = provider_session({**app.config, "HUB_HTTP_TIMEOUT": 3.5}, extensions, 9, PROVIDER)
    assert (http.timeout, http.usage, http.quota, http.org_id) == (3.5, usage, quota, 9)


def test_a_hooks_call_through_ctx_http_is_recorded_and_its_429_makes_the_run_wait(
    app, api, org, upstream, register_plugin, enable_plugin, hub_clock
):
    usage = Recorded()
    app.extensions["hub.usage"] = usage
    plugin = make_plugin(
        "alpha",
        hooks=("on_client_created",),
        behaviour=lambda hook, event, ctx: ctx.http.get(f"{upstream.url}/limited"),
    )
    register_plugin(plugin.obj, "alpha")
    enable_plugin("alpha")
    assert api.post("/api/clients", json={"name": "Globex"}).status_code == 201
    run_jobs(app)
    (run,) = runs_of(app, "alpha")
    assert (run.state, run.attempts) == ("queued", 0)
    assert run.next_attempt_at == hub_clock.now() + timedelta(seconds=42)
    assert [(c["org_id"], c["plugin"], c["feature"], c["status"]) for c in usage.calls] == [
        (org.id, "alpha", "on_client_created", 429)
    ]
