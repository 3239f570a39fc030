"""Links follow the address the hub serves on: HUB_APP_URL (and so HUB_CLIENT_URL) default
to `http://<HUB_HOST>:<HUB_PORT>`, which `hub serve` / `hub up` set from --host / --port."""

from __future__ import annotations

import socket

import pytest

from hub.app import create_app
from hub.cli import listen_on
from hub.config import load_config
from hub.errors import ConfigError


@pytest.mark.parametrize(
    ("environ", "url"),
    [
        ({}, "http://127.0.0.1:8000"),
        ({"HUB_PORT": "18200"}, "http://127.0.0.1:18200"),
        ({"HUB_HOST": "hub.local", "HUB_PORT": "9000"}, "http://hub.local:9000"),
        ({"HUB_HOST": "::1"}, "http://[::1]:8000"),
        ({"HUB_HOST": "[::1]", "HUB_PORT": "9000"}, "http://[::1]:9000"),
        ({"HUB_HOST": "0.0.0.0", "HUB_PORT": "9000"}, f"http://{socket.gethostname()}:9000"),
    ],
)
def test_the_default_links_follow_host_and_port(environ, url):
    settings = load_config(environ=environ)
    assert (settings["HUB_APP_URL"], settings["HUB_CLIENT_URL"]) == (url, url)


def test_a_set_app_url_wins_over_the_port():
    settings = load_config(environ={"HUB_PORT": "18200", "HUB_APP_URL": "https://hub.example"})
    assert settings["HUB_APP_URL"] == "https://hub.example"


@pytest.mark.parametrize(
    ("name", "value"),
    [("HUB_PORT", "0"), ("HUB_PORT", "65536"), ("HUB_PORT", "web"), ("HUB_HOST", "a b/c")],
)
def test_a_bad_host_or_port_is_named(name, value):
    with pytest.raises(ConfigError, match=name):
        load_config(environ={name: value})


def test_serve_and_up_hand_their_port_to_the_app(monkeypatch, tmp_path, hub_config):
    """What `hub serve --port 18200` (and `hub up`) leave for the processes they start."""
    monkeypatch.setenv("HUB_VAR_DIR", str(tmp_path))
    monkeypatch.delenv("HUB_APP_URL", raising=False)
    monkeypatch.setenv("HUB_HOST", "127.0.0.1")  # the environment's value
    monkeypatch.setenv("HUB_PORT", "8000")
    assert listen_on(None, 18200) == ("127.0.0.1", 18200)
    app = create_app({k: v for k, v in hub_config.items() if k != "HUB_VAR_DIR"})
    assert app.config["HUB_APP_URL"] == "http://127.0.0.1:18200"
    assert listen_on("::1", None) == ("::1", 18200)
    assert load_config()["HUB_APP_URL"] == "http://[::1]:18200"
