"""A slash command whose answer is not ready in time is answered through response_url."""

from __future__ import annotations

import threading
import time

import pytest
from slack_helpers import ADA
from werkzeug.serving import make_server


@pytest.fixture
def hub_config(hub_config):
    """No time budget: every answer goes through response_url."""
    return {**hub_config, "SLACK_COMMAND_BUDGET_SECONDS": "0"}


def test_slow_answers_come_through_response_url(app, connected, work):
    """Over real HTTP: Slack gets "working on it" at once, then the answer at response_url."""

    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    try:
        answer = connected.slash_command(
            f"http://127.0.0.1:{server.server_port}", "/mycelium-tasks", "", ADA
        )
        assert answer.status_code == 200 and answer.json()["text"] == "⏳ Working on it…"
        deadline = time.monotonic() + 10
        while not connected.responses and time.monotonic() < deadline:
            time.sleep(0.05)
        [late] = connected.responses
        assert late["text"] == "Your open deliverables: 3"
        assert late["response_type"] == "ephemeral"
    finally:
        server.shutdown()
        server.server_close()
