"""Push notifications as Google sends them: a ``sync`` message when a channel opens, then
``exists`` whenever the watched calendar's events change, posted from a thread with the
``X-Goog-*`` headers and an empty body."""

from __future__ import annotations

import queue
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import requests

from mycelium_gcal.emulator.store import ApiError


@dataclass
class Watch:
    calendar_id: str
    address: str
    channel: dict[str, Any]
    number: int = 0
    stopped: bool = False


@dataclass
class Pusher:
    channels: dict[str, Watch] = field(default_factory=dict)
    delivered: list[dict[str, Any]] = field(default_factory=list)  # what the hub answered
    lock: threading.RLock = field(default_factory=threading.RLock)

    def __post_init__(self) -> None:
        self._queue: queue.Queue[tuple[Watch, str] | None] = queue.Queue()
        self._busy = 0

    def start(self) -> None:
        threading.Thread(target=self._run, name="google-emulator-push", daemon=True).start()

    def stop(self) -> None:
        self._queue.put(None)

    def watch(self, calendar_id: str, address: str, channel: dict[str, Any]) -> None:
        found = Watch(calendar_id, address, channel)
        with self.lock:
            self.channels[channel["id"]] = found
        self._send(found, "sync")

    def stop_channel(self, body: dict[str, Any]) -> None:
        with self.lock:
            found = self.channels.get(str(body.get("id")))
            if found is None or found.channel["resourceId"] != body.get("resourceId"):
                raise ApiError(404, "notFound", f"Channel '{body.get('id')}' not found for project")
            found.stopped = True

    def live(self, calendar_id: str | None = None) -> list[Watch]:
        now_ms = time.time() * 1000
        with self.lock:
            return [
                w
                for w in self.channels.values()
                if not w.stopped
                and int(w.channel["expiration"]) > now_ms
                and calendar_id in (None, w.calendar_id)
            ]

    def changed(self, calendar_id: str) -> None:
        for found in self.live(calendar_id):
            self._send(found, "exists")

    def _send(self, found: Watch, state: str) -> None:
        with self.lock:
            self._busy += 1
        self._queue.put((found, state))

    def wait(self, timeout: float = 5.0) -> None:
        """Until every queued notification was posted (tests)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if self._busy == 0:
                    return
            time.sleep(0.01)
        raise TimeoutError("push notifications still queued")

    def _run(self) -> None:
        session = requests.Session()
        while (item := self._queue.get()) is not None:
            found, state = item
            try:
                self._post(session, found, state)
            finally:
                with self.lock:
                    self._busy -= 1

    def _post(self, session: requests.Session, found: Watch, state: str) -> None:
        with self.lock:
            found.number += 1
            number = found.number
        channel = found.channel
        headers = {
            "X-Goog-Channel-ID": channel["id"],
            "X-Goog-Message-Number": str(number),
            "X-Goog-Resource-ID": channel["resourceId"],
            "X-Goog-Resource-State": state,
            "X-Goog-Resource-URI": channel["resourceUri"],
            "X-Goog-Channel-Expiration": time.strftime(
                "%a, %d %b %Y %H:%M:%S GMT", time.gmtime(int(channel["expiration"]) / 1000)
            ),
        }
        if channel.get("token"):
            headers["X-Goog-Channel-Token"] = channel["token"]
        try:
            status = session.post(found.address, headers=headers, timeout=5).status_code
        except requests.RequestException as exc:
            status = f"unreachable: {exc.__class__.__name__}"  # type: ignore[assignment]
        with self.lock:
            self.delivered.append({"channel": channel["id"], "state": state, "status": status})
