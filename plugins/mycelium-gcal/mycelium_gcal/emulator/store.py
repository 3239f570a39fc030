"""The emulated calendars: events with Google's server-side fields, the change sequence
behind sync tokens, and Meet conferences that answer ``pending`` first.

Every change bumps the calendar's sequence and stamps the event with it; a sync token is
the sequence it was issued at, so an incremental list returns exactly what changed since,
deleted events included (``status: cancelled``; Google keeps a deleted event's id).
"""

from __future__ import annotations

import base64
import copy
import re
import secrets
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

ID_RULE = re.compile(r"^[a-v0-9]{5,1024}$")
OWNER = "owner@agency.test"


class ApiError(Exception):
    """An answer in Google's error shape."""

    def __init__(self, status: int, reason: str, message: str, domain: str = "global") -> None:
        super().__init__(message)
        self.status, self.reason, self.message, self.domain = status, reason, message, domain

    def body(self) -> dict[str, Any]:
        item = {"domain": self.domain, "reason": self.reason, "message": self.message}
        return {"error": {"errors": [item], "code": self.status, "message": self.message}}


def stamp() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_time(value: dict[str, Any] | None, name: str) -> datetime:
    """An EventDateTime as an instant; Google's 400 when it is missing or unreadable."""
    if not isinstance(value, dict) or not (value.get("dateTime") or value.get("date")):
        raise ApiError(400, "required", f"Missing {name} time.")
    text = str(value.get("dateTime") or f"{value['date']}T00:00:00+00:00")
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ApiError(400, "invalid", f"Invalid {name} time.") from None
    if parsed.tzinfo is None and not value.get("timeZone"):
        raise ApiError(400, "invalid", f"Missing time zone definition for {name} time.")
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


@dataclass
class Calendar:
    id: str
    time_zone: str = "UTC"
    events: dict[str, dict[str, Any]] = field(default_factory=dict)
    seq: int = 0
    oldest_token: int = 0  # tokens issued before this sequence get 410

    def bump(self, event: dict[str, Any]) -> None:
        self.seq += 1
        event["_seq"] = self.seq
        event["updated"] = stamp()
        event["etag"] = f'"{self.seq}"'


@dataclass
class Store:
    """All calendars of the emulated account (``primary`` among them)."""

    calendars: dict[str, Calendar] = field(default_factory=dict)
    conference_reads: int = 1  # reads of an event before its pending conference succeeds
    lock: threading.RLock = field(default_factory=threading.RLock)

    def __post_init__(self) -> None:
        self.calendars.setdefault("primary", Calendar("primary"))

    def calendar(self, calendar_id: str) -> Calendar:
        found = self.calendars.get(calendar_id)
        if found is None:
            raise ApiError(404, "notFound", "Not Found")
        return found

    # ----- events -----

    def insert(self, cal: Calendar, body: dict[str, Any], conference: bool) -> dict[str, Any]:
        event_id = str(body.get("id") or secrets.token_hex(13))
        if not ID_RULE.match(event_id):
            raise ApiError(400, "invalid", "Invalid resource id value.")
        if event_id in cal.events:
            raise ApiError(409, "duplicate", "The requested identifier already exists.")
        _check_span(body)
        event = {k: copy.deepcopy(v) for k, v in body.items() if k != "conferenceData"}
        event.update(_server_fields(cal, event_id))
        _attendees(event)
        if conference:
            self._ask_conference(event, body.get("conferenceData"))
        cal.events[event_id] = event
        cal.bump(event)
        return event

    def patch(
        self, cal: Calendar, event_id: str, body: dict[str, Any], conference: bool
    ) -> dict[str, Any]:
        event = self._event(cal, event_id)
        merged = {**event, **{k: copy.deepcopy(v) for k, v in body.items() if k != "id"}}
        merged.pop("conferenceData", None)
        if "conferenceData" in event:
            merged["conferenceData"] = event["conferenceData"]
        _check_span(merged)
        if conference and "conferenceData" in body and "conferenceData" not in event:
            self._ask_conference(merged, body["conferenceData"])
        merged["sequence"] = int(event.get("sequence", 0)) + 1
        _attendees(merged)
        event.clear()
        event.update(merged)
        cal.bump(event)
        return event

    def delete(self, cal: Calendar, event_id: str) -> None:
        event = self._event(cal, event_id)
        if event.get("status") == "cancelled":
            raise ApiError(410, "deleted", "Resource has been deleted")
        event["status"] = "cancelled"
        cal.bump(event)

    def get(self, cal: Calendar, event_id: str) -> dict[str, Any]:
        event = self._event(cal, event_id)
        self._maybe_confirm_conference(cal, event)
        return event

    def _event(self, cal: Calendar, event_id: str) -> dict[str, Any]:
        event = cal.events.get(event_id)
        if event is None:
            raise ApiError(404, "notFound", "Not Found")
        return event

    # ----- conferences -----

    def _ask_conference(self, event: dict[str, Any], data: Any) -> None:
        request = (data or {}).get("createRequest") if isinstance(data, dict) else None
        if not isinstance(request, dict) or not request.get("requestId"):
            raise ApiError(400, "invalid", "Invalid conference create request.")
        event["conferenceData"] = {
            "createRequest": {**request, "status": {"statusCode": "pending"}},
        }
        event["_conference_reads"] = 0

    def _maybe_confirm_conference(self, cal: Calendar, event: dict[str, Any]) -> None:
        conference = event.get("conferenceData") or {}
        status = (conference.get("createRequest") or {}).get("status") or {}
        if status.get("statusCode") != "pending":
            return
        event["_conference_reads"] = event.get("_conference_reads", 0) + 1
        if event["_conference_reads"] <= self.conference_reads:
            return
        code = "-".join(secrets.token_hex(2)[:3] for _ in range(3))
        uri = f"https://meet.google.com/{code}"
        conference["createRequest"]["status"] = {"statusCode": "success"}
        conference.update(
            conferenceId=code,
            conferenceSolution={"key": {"type": "hangoutsMeet"}, "name": "Google Meet"},
            entryPoints=[{"entryPointType": "video", "uri": uri, "label": uri[8:]}],
        )
        event["hangoutLink"] = uri
        cal.bump(event)

    # ----- listing and sync tokens -----

    def changed_since(self, cal: Calendar, token: str) -> list[dict[str, Any]]:
        seq = _token_seq(token)
        if seq is None or seq < cal.oldest_token or seq > cal.seq:
            raise ApiError(
                410, "fullSyncRequired", "Sync token is no longer valid, a full sync is required."
            )
        return [e for e in _ordered(cal) if e["_seq"] > seq]

    def listed(
        self, cal: Calendar, show_deleted: bool, time_min: str | None
    ) -> list[dict[str, Any]]:
        floor = parse_time({"dateTime": time_min}, "timeMin") if time_min else None
        found = []
        for event in _ordered(cal):
            if event.get("status") == "cancelled" and not show_deleted:
                continue
            if floor is not None and parse_time(event.get("end"), "end") <= floor:
                continue
            found.append(event)
        return found

    @staticmethod
    def token_for(cal: Calendar) -> str:
        return base64.urlsafe_b64encode(f"seq:{cal.seq}".encode()).decode()


def _token_seq(token: str) -> int | None:
    try:
        text = base64.urlsafe_b64decode(token.encode()).decode()
    except (ValueError, UnicodeDecodeError):
        return None
    kind, _, number = text.partition(":")
    return int(number) if kind == "seq" and number.isdigit() else None


def _ordered(cal: Calendar) -> list[dict[str, Any]]:
    return sorted(cal.events.values(), key=lambda e: e["_seq"])


def _check_span(event: dict[str, Any]) -> None:
    start, end = parse_time(event.get("start"), "start"), parse_time(event.get("end"), "end")
    if end < start:
        raise ApiError(400, "timeRangeEmpty", "The specified time range is empty.", "calendar")


def _attendees(event: dict[str, Any]) -> None:
    for attendee in event.get("attendees") or []:
        attendee.setdefault("responseStatus", "needsAction")


def _server_fields(cal: Calendar, event_id: str) -> dict[str, Any]:
    eid = base64.urlsafe_b64encode(f"{event_id} {cal.id}".encode()).decode().rstrip("=")
    now = stamp()
    return {
        "kind": "calendar#event",
        "id": event_id,
        "status": "confirmed",
        "htmlLink": f"https://www.google.com/calendar/event?eid={eid}",
        "created": now,
        "creator": {"email": OWNER, "self": True},
        "organizer": {"email": OWNER, "self": True},
        "iCalUID": f"{event_id}@google.com",
        "sequence": 0,
        "eventType": "default",
    }


def public(event: dict[str, Any]) -> dict[str, Any]:
    """The event as the API shows it (without the emulator's bookkeeping)."""
    return {k: copy.deepcopy(v) for k, v in event.items() if not k.startswith("_")}
