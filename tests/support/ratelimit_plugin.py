"""Test plugin `burst` (HUB_EXTRA_PLUGINS=burst=support.ratelimit_plugin): one provider call per new
client through ``ctx.http``, under a quota of 3 calls per second; and the loopback provider
it calls, which records every call and can answer 429 with ``Retry-After``."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

from flask import Flask, jsonify, request
from werkzeug.serving import make_server

from hub import EventInfo, PluginContext, Provider, RateLimits, Setting, hookimpl

NAME = "burst"
PER_SECOND = 3

PROVIDER = Provider(
    name=NAME,
    title="Burst",
    rate_limits=RateLimits(per_second=PER_SECOND, per_minute=1000),
    settings=(Setting("BURST_API_BASE", "https://burst.invalid"),),
)


@hookimpl
def register_providers(register: Any) -> None:
    register(PROVIDER)


@hookimpl
def on_client_created(ctx: PluginContext, event: EventInfo, client: dict[str, Any]) -> None:
    url = f"{ctx.setting('BURST_API_BASE')}/calls"
    response = ctx.http.post(url, json={"event": event.id}, feature="notification.client")
    if response.status_code >= 400:
        raise RuntimeError(f"the provider answered {response.status_code}")


@dataclass
class Provider429Server:
    """Records (time, event id) of every call; ``throttle_first`` answers an event's first
    call with 429 and ``Retry-After``."""

    throttle_first: float | None = None
    calls: list[tuple[float, str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.lock = threading.Lock()
        app = Flask("burst_provider")
        app.add_url_rule("/calls", view_func=self.call, methods=["POST"])
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}"

    def call(self) -> Any:
        event = (request.get_json(silent=True) or {}).get("event", "")
        with self.lock:
            first = all(seen != event for _, seen in self.calls)
            self.calls.append((time.time(), event))
        if first and self.throttle_first is not None:
            response = jsonify({"ok": False, "error": "ratelimited"})
            response.status_code = 429
            response.headers["Retry-After"] = str(self.throttle_first)
            return response
        return jsonify({"ok": True})

    def busiest(self, window: float) -> int:
        """The most calls that arrived inside any `window` seconds."""
        times = sorted(t for t, _ in self.calls)
        return max((sum(1 for u in times if t <= u < t + window) for t in times), default=0)

    def stop(self) -> None:
        self.server.shutdown()
        self.thread.join(5)
