"""Outgoing webhooks: endpoints and fan-out (``endpoints``), the delivery rows and their
queue (``models``, ``schemas``, ``queue``, ``lanes``, ``lease``), the pump that sends them
(``pump``, ``delivery``, ``record``), replays, endpoint secrets' rotation (``keys``), and
the webhook failure policy (``policy``). docs/webhooks.md is the user's side.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from hub.core.webhooks.queue import job_ended


class TearsDown(Protocol):
    """What this needs of the app (a Flask app; the core does not import Flask)."""

    def teardown_appcontext(self, f: Callable[[BaseException | None], None]) -> Any: ...


def init_app(app: TearsDown) -> None:
    """Every app context (a worker's job, a request) ends by kicking the pump if a commit
    deferred it (:func:`hub.core.webhooks.queue.job_ended`)."""
    app.teardown_appcontext(lambda error: job_ended())
