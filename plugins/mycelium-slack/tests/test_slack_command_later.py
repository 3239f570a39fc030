"""A slash command whose answer is not ready in time is answered through response_url."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from slack_helpers import ADA
from werkzeug.serving import make_server


@pytest.fixture
def hub_config(hub_config):
    """No time budget: every answer goes through response_url."""
    return {**hub_config, "SLACK_COMMAND_BUDGET_SECONDS": "0"}


@contextmanager
def served(app) -> Iterator[str]:
    """The hub served over real HTTP on loopback; its base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()


def wait_for_responses(slack, seconds: float) -> list:
    deadline = time.monotonic() + seconds
    while not slack.responses and time.monotonic() < deadline:
        time.sleep(0.05)
    return slack.responses


def test_slow_answers_come_through_response_url(app, connected, work):
    """Over real HTTP: Slack gets "working on it" at once, then the answer at response_url."""
    with served(app) as hub:
        answer = connected.slash_command(hub, "/mycelium-tasks", "", ADA)
        assert answer.status_code == 200 and answer.json()["text"] == "⏳ Working on it…"
        [late] = wait_for_responses(connected, 10)
        assert late["text"] == "Your open deliverables: 3"
        assert late["response_type"] == "ephemeral"


def test_a_response_url_off_slacks_hosts_is_not_posted_to(app, connected, work):
    """A signed command names its own response_url: one on another host gets nothing."""
    other_host = connected.url.replace("127.0.0.1", "localhost") + "/commands/T/1/reply"
    with served(app) as hub:
        answer = connected.slash_command(hub, "/mycelium-tasks", "", ADA, response_url=other_host)
        assert answer.json()["text"] == "⏳ Working on it…"
        assert wait_for_responses(connected, 2) == []


def test_a_response_url_on_slacks_host_still_passes_the_egress_guard(app, connected, work):
    """Slack's host name resolving to a private address is refused like any destination."""
    app.config["HUB_EGRESS_ALLOWED_CIDRS"] = ()  # loopback no longer allowed
    with served(app) as hub:
        connected.slash_command(hub, "/mycelium-tasks", "", ADA)
        assert wait_for_responses(connected, 2) == []
