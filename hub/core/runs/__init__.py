"""The run engine: event ids handed to the workers (``pending``), which hooks an event calls
(``routing``), run creation (``dispatch``), claiming and performing runs (``execute``), the
run failure policy (``policy``), the sweepers that bring back what a dead worker held
(``recovery``) and the recurring jobs' scheduler (``scheduling``).
"""

from __future__ import annotations

from hub.core.connections.context import AppLike
from hub.core.runs.pending import on_events_committed


def init_app(app: AppLike) -> None:
    """After every commit that wrote events, hand their ids to the workers."""
    app.extensions["hub.on_events_committed"] = lambda ids: on_events_committed(app, ids)
