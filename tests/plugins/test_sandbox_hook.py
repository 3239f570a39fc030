"""`register_sandbox`: a plugin's provider emulator, started only by `hub up --sandbox`,
and its page shown in `GET /api/plugins` as `sandbox`."""

from __future__ import annotations

import threading
from typing import Any

import pytest
import requests
from werkzeug.serving import make_server
from werkzeug.wrappers import Response

import hub
from hub.config import load_config
from hub.errors import ConfigError
from hub.plugins import get_plugins


class EchoServer:
    def __init__(self, host: str, hub_url: str) -> None:
        self.hub_url = hub_url
        self._server = make_server(host, 0, Response(f"Sandbox for {hub_url}"), threaded=True)
        self.url = f"http://{host}:{self._server.server_port}"
        threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True).start()

    def settings(self) -> dict[str, str]:
        return {"ECHO_API_BASE": self.url}

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


class Echo:
    def __init__(self, *sandboxes: Any) -> None:
        self.sandboxes = sandboxes

    @hub.hookimpl
    def register_providers(self, register: Any) -> None:
        register(hub.Provider(name="echo", title="Echo"))

    @hub.hookimpl
    def register_sandbox(self, register: hub.RegisterSandbox) -> None:
        for sandbox in self.sandboxes:
            register(sandbox)


def test_hook_register_sandbox(app, api, register_plugin):
    register_plugin(Echo(hub.Sandbox(title="Echo", start=EchoServer, page="/echo")), "echo")
    sandboxes = get_plugins(app).sandboxes()
    assert sandboxes["echo"].title == "Echo" and sandboxes["echo"].page == "/echo"
    server = sandboxes["echo"].start("127.0.0.1", "http://127.0.0.1:8000")
    try:
        assert server.settings() == {"ECHO_API_BASE": server.url}
        answer = requests.get(server.url + sandboxes["echo"].page, timeout=5)
        assert answer.text == "Sandbox for http://127.0.0.1:8000"
    finally:
        server.stop()
    # not running: the plugins list no sandbox page
    described = {p["name"]: p for p in api.get("/api/plugins").json["items"]}
    assert described["echo"]["sandbox"] is None


@pytest.mark.parametrize(
    "sandbox",
    [
        "not a sandbox",
        hub.Sandbox(title="Echo", start=EchoServer, page="echo"),
    ],
)
def test_a_bad_sandbox_stops_start_up_naming_the_plugin(app, register_plugin, sandbox):
    register_plugin(Echo(sandbox), "echo")
    with pytest.raises(ConfigError, match="'echo'"):
        get_plugins(app).sandboxes()


def test_two_sandboxes_are_refused(app, register_plugin):
    one = hub.Sandbox(title="Echo", start=EchoServer)
    register_plugin(Echo(one, one), "echo")
    with pytest.raises(ConfigError, match="more than one sandbox"):
        get_plugins(app).sandboxes()


def test_the_sandbox_pages_setting_takes_loopback_pages_only():
    pages = {"slack": "http://127.0.0.1:5001/sandbox"}
    assert (
        load_config({"HUB_SANDBOX_PAGES": '{"slack": "http://127.0.0.1:5001/sandbox"}'})[
            "HUB_SANDBOX_PAGES"
        ]
        == pages
    )
    with pytest.raises(ConfigError, match="HUB_SANDBOX_PAGES"):
        load_config({"HUB_SANDBOX_PAGES": '{"slack": "http://slack.com/sandbox"}'})
    assert load_config({})["HUB_SANDBOX_PAGES"] == {}


def test_a_running_sandbox_page_is_listed(hub_config, request):
    page = "http://127.0.0.1:5001/sandbox"
    hub_config["HUB_SANDBOX_PAGES"] = {"slack": page}
    api = request.getfixturevalue("api")
    described = {p["name"]: p for p in api.get("/api/plugins").json["items"]}
    assert described["slack"]["sandbox"] == page and described["gcal"]["sandbox"] is None
