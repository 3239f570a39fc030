"""`hub up --sandbox` as a subprocess, for the sandbox's e2e test (over HTTP) and its browser
journey: started once per module, its printed key, link and sandbox pages, the API as the
demo organization's admin, and the steps a person takes in the sandboxes (consent, Dropbox
uploads)."""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import re
import signal
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from html import unescape
from pathlib import Path
from typing import Any

import pytest
import requests

from support.hub_processes import HubProcess, wait_for
from support.net import free_port

START_SECONDS = 120
WORK_SECONDS = 60  # a worker's job on a busy machine
LINK = "One-time console sign-in link (10 minutes): "


def sandbox_env(var: Path) -> dict[str, str]:
    """What `make demo` sees on a fresh machine: no REDIS_URL, no database URL, no keys."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HUB_", "REDIS_"))}
    env.update(HUB_VAR_DIR=str(var), HOME=str(var.parent / "home"), HUB_LOG_LEVEL="INFO")
    for name in os.environ:
        if name.startswith(("SLACK_", "DROPBOX_", "GOOGLE_", "GCAL_")):
            env.pop(name, None)
    return env


@dataclass
class SandboxHub:
    process: HubProcess
    port: int
    var: Path
    pages: dict[str, str] = field(default_factory=dict)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log(self) -> str:
        return self.process.output()

    @property
    def key(self) -> str:
        return self.log.split("admin API key: ", 1)[1].split()[0]

    @property
    def link(self) -> str:
        return self.log.split(LINK, 1)[1].split()[0]

    def api(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        headers = {"Authorization": f"Bearer {self.key}"}
        return requests.request(method, self.base + path, headers=headers, timeout=30, **kwargs)

    def children(self) -> list[int]:
        record = self.var / "hub-up.json"
        if not record.exists():
            return []
        return [pid for pid, _ in json.loads(record.read_text())["children"].values()]


def running_sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxHub]:
    """Start `hub up --sandbox`, yield it once it says so, stop it (no orphans)."""
    folder = tmp_path_factory.mktemp("sandbox")
    (folder / "home").mkdir()
    port = free_port()
    process = HubProcess(
        ["up", "--sandbox", "--port", str(port)], sandbox_env(folder / "var"), folder / "up.log"
    )
    hub = SandboxHub(process, port, folder / "var")
    try:
        wait_for(
            lambda: "Sandbox: open the sign-in link" in hub.log or not process.alive(),
            START_SECONDS,
            "hub up --sandbox",
        )
        assert process.alive(), hub.log
        hub.pages = dict(re.findall(r"sandbox: (.+?) at (http://\S+)", hub.log))
        yield hub
    finally:
        children = hub.children()
        code = process.stop(60)
        if code != 0:  # `hub up` stops its children itself; if it failed, leave no orphan
            for pid in children:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
        assert code == 0, hub.log[-3000:]


def signed_in(sandbox: SandboxHub) -> requests.Session:
    """A browser that opened the printed link (the console posts its token): once only."""
    session = requests.Session()
    token = sandbox.link.split("#", 1)[1]
    answer = session.post(f"{sandbox.base}/api/session/link", json={"token": token}, timeout=10)
    assert answer.status_code == 201, answer.text
    assert answer.json()["user"]["email"] == "admin@demo-agency.example"
    again = requests.post(f"{sandbox.base}/api/session/link", json={"token": token}, timeout=10)
    assert again.status_code == 401
    return session


def consent(hub: SandboxHub, browser: requests.Session, plugin: str, choice: str) -> str:
    """Connect `plugin`: its consent page in the sandbox, `choice` clicked; the URL the
    browser lands on at the end."""
    started = hub.api("GET", f"/api/integrations/{plugin}/connect")
    assert started.status_code == 200, started.text
    page = browser.get(started.json()["auth_url"], timeout=10)
    assert page.status_code == 200 and "Sandbox" in page.text, page.text[:500]
    links = dict(
        (label, unescape(href)) for href, label in re.findall(r'href="([^"]+)">(\w+)<', page.text)
    )
    path = links[choice]
    emulator = (
        page.url.split("/o", 1)[0] if "/o/oauth2" in page.url else page.url.split("/oauth", 1)[0]
    )
    done = browser.get(emulator + path, timeout=30)
    return done.url


def slack_text(hub: SandboxHub) -> str:
    return unescape(requests.get(hub.pages["Slack"], timeout=10).text)


def dropbox_text(hub: SandboxHub) -> str:
    return unescape(requests.get(hub.pages["Dropbox"], timeout=10).text)


def upload(hub: SandboxHub, folder: str, name: str, data: bytes) -> requests.Response:
    return requests.post(
        hub.pages["Dropbox"] + "/upload",
        data={"folder": folder},
        files={"file": (name, data)},
        timeout=30,
    )


def dropbox_reads_changes(hub: SandboxHub) -> None:
    """Until the hub reads Dropbox's changes from its cursor (``list_folder/continue``): the
    connect job takes the first cursor last, and a change notified before it is taken is
    folded into the first listing, not announced. Probe files go under Templates (no
    client's folder: no event)."""
    deadline = time.monotonic() + WORK_SECONDS
    for number in itertools.count(1):
        upload(hub, hub_root(hub) + "/Templates", f"probe-{number}.txt", b"probe")
        try:
            wait_for(
                lambda: 'data-route="files/list_folder/continue"' in dropbox_text(hub),
                5,
                "a sync from the cursor",
            )
            return
        except AssertionError:
            if time.monotonic() > deadline:
                raise


def hub_root(hub: SandboxHub) -> str:
    paths = re.findall(r'data-path="([^"]+)"', dropbox_text(hub))
    return min(paths, key=len)
