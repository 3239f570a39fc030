"""The Calendar API v3 routes of the emulator: events insert/get/patch/delete/list, watch
and channels.stop, answered from the store as Google answers them."""

from __future__ import annotations

import re
import secrets
import time
from typing import Any, Protocol

from werkzeug.wrappers import Request

from mycelium_gcal.emulator.push import Pusher
from mycelium_gcal.emulator.store import ApiError, Calendar, Store, public, stamp


class Emulator(Protocol):
    """What these routes use of the emulator (server.Emulator)."""

    store: Store
    pusher: Pusher
    sent_updates: list[Any]


EVENTS = re.compile(r"^calendars/(?P<cal>[^/]+)/events(?:/(?P<event>[^/]+))?$")
WATCH = re.compile(r"^calendars/(?P<cal>[^/]+)/events/watch$")
MAX_CHANNEL_SECONDS = 30 * 86400
MAX_RESULTS = 2500


def handle(emu: Emulator, request: Request, path: str, body: Any) -> Any:
    """The answer (None: 204 No Content) of one authorised API request."""
    if path == "channels/stop" and request.method == "POST":
        return emu.pusher.stop_channel(body or {})
    if (match := WATCH.match(path)) and request.method == "POST":
        return _watch(emu, match["cal"], body or {})
    match = EVENTS.match(path)
    if match is None:
        raise ApiError(404, "notFound", "Not Found")
    with emu.store.lock:
        cal = emu.store.calendar(match["cal"])
        answer = _events(emu, request, cal, match["event"], body)
    if request.method in ("POST", "PATCH", "DELETE"):
        emu.pusher.changed(cal.id)
    return answer


def _events(emu: Emulator, request: Request, cal: Calendar, event_id: str | None, body: Any) -> Any:
    store, args, method = emu.store, request.args, request.method
    conference = args.get("conferenceDataVersion") == "1"
    if event_id is None and method == "GET":
        return _list(store, cal, args)
    if event_id is None and method == "POST":
        if not isinstance(body, dict):
            raise ApiError(400, "badRequest", "Bad Request")
        event = store.insert(cal, body, conference)
        emu.sent_updates.append(("insert", event["id"], args.get("sendUpdates", "false")))
        return public(event)
    if event_id is not None and method == "GET":
        return public(store.get(cal, event_id))
    if event_id is not None and method == "PATCH":
        event = store.patch(cal, event_id, body if isinstance(body, dict) else {}, conference)
        emu.sent_updates.append(("patch", event_id, args.get("sendUpdates", "false")))
        return public(event)
    if event_id is not None and method == "DELETE":
        store.delete(cal, event_id)
        emu.sent_updates.append(("delete", event_id, args.get("sendUpdates", "false")))
        return None
    raise ApiError(405, "methodNotAllowed", "Method Not Allowed")


def _list(store: Store, cal: Calendar, args: Any) -> dict[str, Any]:
    token = args.get("syncToken")
    if token and (args.get("timeMin") or args.get("timeMax") or args.get("q")):
        raise ApiError(400, "invalid", "Sync token cannot be combined with these filters.")
    if token:
        items = store.changed_since(cal, token)
    else:
        show = args.get("showDeleted") == "true"
        items = store.listed(cal, show, args.get("timeMin"))
    size = min(int(args.get("maxResults") or 250), MAX_RESULTS)
    offset = int(args.get("pageToken") or 0)
    page = items[offset : offset + size]
    answer: dict[str, Any] = {
        "kind": "calendar#events",
        "summary": cal.id,
        "timeZone": cal.time_zone,
        "updated": stamp(),
        "accessRole": "owner",
        "defaultReminders": [{"method": "popup", "minutes": 10}],
        "items": [public(e) for e in page],
    }
    if offset + size < len(items):
        answer["nextPageToken"] = str(offset + size)
    else:
        answer["nextSyncToken"] = store.token_for(cal)
    return answer


def _watch(emu: Emulator, calendar_id: str, body: dict[str, Any]) -> dict[str, Any]:
    emu.store.calendar(calendar_id)  # 404 for an unknown calendar
    if (
        body.get("type") not in ("web_hook", "webhook")
        or not body.get("address")
        or not body.get("id")
    ):
        raise ApiError(400, "invalid", "Invalid channel: id, type web_hook and address are needed.")
    longest = int((time.time() + MAX_CHANNEL_SECONDS) * 1000)
    asked = int(body.get("expiration") or longest)
    channel = {
        "kind": "api#channel",
        "id": str(body["id"]),
        "resourceId": secrets.token_urlsafe(18),
        "resourceUri": f"https://www.googleapis.com/calendar/v3/calendars/{calendar_id}/events?alt=json",
        "token": body.get("token"),
        "expiration": str(min(asked, longest)),
    }
    emu.pusher.watch(calendar_id, str(body["address"]), channel)
    return {k: v for k, v in channel.items() if v is not None}
