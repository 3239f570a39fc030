"""`hub up` prints a one-time sign-in link for the admin console beside the demo key: it
signs a browser in once, as the demo organization's admin, and the console answers."""

from __future__ import annotations

import signal

import pytest
import requests
from support.hub_processes import wait_for
from test_up_e2e import start_up, up_env, ups

pytestmark = pytest.mark.e2e
__all__ = ["up_env", "ups"]
LINE = "One-time console sign-in link (10 minutes): "


def test_up_prints_a_console_link_that_works_once(up_env, ups, tmp_path):
    up = start_up(up_env, ups, tmp_path)
    up.wait_running()
    wait_for(lambda: LINE in up.log, 30, "the console link")
    assert f"Admin console: http://127.0.0.1:{up.port}/admin/" in up.log
    link = up.log.split(LINE, 1)[1].split()[0]
    assert link.startswith(f"http://127.0.0.1:{up.port}/admin/link#")
    token = link.split("#", 1)[1]
    assert requests.get(link.split("#")[0], timeout=10).status_code == 200  # the console page

    browser = requests.Session()
    signed_in = browser.post(f"{up.base}/api/session/link", json={"token": token}, timeout=10)
    assert signed_in.status_code == 201, signed_in.text
    assert signed_in.json()["role"] == "admin"
    assert signed_in.json()["user"]["email"] == "admin@demo-agency.example"
    assert browser.get(f"{up.base}/api/integrations", timeout=10).status_code == 200
    again = requests.post(f"{up.base}/api/session/link", json={"token": token}, timeout=10)
    assert again.status_code == 401

    up.process.signal(signal.SIGTERM)
    assert up.process.proc.wait(60) == 0, up.log
