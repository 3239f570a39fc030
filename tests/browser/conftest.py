"""The console in a real browser: Debian's Chromium driven by Playwright, against `hub serve`
and `hub worker` on loopback, with a loopback Slack and a loopback SMTP server.

Chromium comes from the `chromium` Debian package (`.ci/run` installs it); without it these
tests skip, except in CI, where they fail. Every page a test shows is saved under
`artifacts/screenshots/` (ignored by git).
"""

from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from browser_helpers import Mailbox, Receiver, Served
from mycelium_slack.emulator import SlackEmulator
from playwright.sync_api import expect
from support.net import free_port

expect.set_options(timeout=15_000)  # a page waits on a worker, on a busy machine


def _chromium() -> str:
    found = shutil.which("chromium")
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed: .ci/run installs the Debian package")
        pytest.skip("chromium (the Debian package) is not installed")
    return found


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    executable = _chromium()
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=executable, headless=True, args=["--no-sandbox"]
        )
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    context.grant_permissions(["clipboard-read", "clipboard-write"])
    opened = context.new_page()
    opened.set_default_timeout(15_000)
    refused: list[str] = []
    opened.on(
        "console", lambda msg: refused.append(msg.text) if "Content Security" in msg.text else None
    )
    opened.on("pageerror", lambda error: refused.append(f"page error: {error}"))
    yield opened
    context.close()
    assert refused == [], refused  # no script error, nothing the CSP had to refuse


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    found = Receiver()
    yield found
    found.stop()


@pytest.fixture
def smtp() -> Iterator[tuple[int, Mailbox]]:
    logging.getLogger("mail.log").setLevel(logging.ERROR)
    mailbox, port = Mailbox(), free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield port, mailbox
    controller.stop()


@pytest.fixture
def slack() -> Iterator[SlackEmulator]:
    emulator = SlackEmulator().start()
    yield emulator
    emulator.stop()


@pytest.fixture
def hub_port() -> int:
    return free_port()


@pytest.fixture
def flaky_flag(tmp_path: Path) -> Path:
    """While this file exists, the `flaky` test plugin's runs fail for good."""
    return tmp_path / "flaky-fails"


@pytest.fixture
def flaky_plugin() -> None:
    """Asked for by a test that needs the `flaky` test plugin loaded (see hub_config)."""


@pytest.fixture
def hub_config(
    hub_config: dict[str, Any],
    slack: SlackEmulator,
    hub_port: int,
    flaky_flag: Path,
    request: pytest.FixtureRequest,
) -> dict[str, Any]:
    # the `flaky` test plugin loads for the tests that ask for its flag, and no others
    flaky = "flaky_plugin" in request.fixturenames
    return {
        **hub_config,
        **({"HUB_EXTRA_PLUGINS": "flaky=console_flaky"} if flaky else {}),
        "CONSOLE_FLAKY_FLAG": str(flaky_flag),
        **slack.settings(),
        "HUB_APP_URL": f"http://127.0.0.1:{hub_port}",
        "HUB_EGRESS_ALLOWED_CIDRS": "127.0.0.0/8",
        "HUB_WEBHOOK_RETRY_SCHEDULE": "0,1,1",
        "SMTP_TEST_TIMEOUT": "5",
        "SMTP_TIMEOUT": "5",
    }


@pytest.fixture
def hub(app: Any, hub_config: dict[str, Any], hub_port: int, tmp_path: Path) -> Iterator[str]:
    served = Served(hub_config, hub_port, tmp_path)
    yield served.url
    served.stop()
