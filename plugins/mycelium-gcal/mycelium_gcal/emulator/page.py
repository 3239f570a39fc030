"""The Google Calendar sandbox's pages: the calendars' events by day, with buttons that move
or cancel an event "in Google" (the watching channels get their push notification), and the
OAuth consent page (allow / deny)."""

from __future__ import annotations

import html
from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any, Protocol
from urllib.parse import urlencode

from werkzeug.wrappers import Request, Response

import hub
from mycelium_gcal.emulator.store import ApiError, Store


class GoogleEmulatorView(Protocol):
    """What the pages use of the emulator (its server module imports this one)."""

    store: Store

    def events(
        self, calendar_id: str = "primary", deleted: bool = False
    ) -> list[dict[str, Any]]: ...
    def event(self, event_id: str, calendar_id: str = "primary") -> dict[str, Any]: ...
    def move_event(
        self, event_id: str, start: str, end: str, calendar_id: str = "primary"
    ) -> None: ...
    def cancel_event(self, event_id: str, calendar_id: str = "primary") -> None: ...


STYLE = """
.event{background:#fff;border-left:4px solid #1a73e8;padding:.5em .8em;margin:.4em 0;
display:flex;gap:1em;align-items:center;flex-wrap:wrap}.event .when{min-width:9em}
.event form{display:inline}.button,button{padding:.3em .8em;cursor:pointer;border:1px solid #999;
border-radius:4px;background:#fff;color:inherit;text-decoration:none}
"""
PAGES = hub.SandboxPages(
    "Google Calendar",
    "google.com",
    accent="#188038",
    text="#202124",
    background="#f8f9fa",
    style=STYLE,
)
MOVES = (("60", "1 hour later"), ("1440", "1 day later"), ("-60", "1 hour earlier"))


def handle(emulator: GoogleEmulatorView, request: Request) -> Response:
    if request.path == "/sandbox" and request.method == "GET":
        return render(emulator)
    if request.path in ("/sandbox/move", "/sandbox/cancel") and request.method == "POST":
        return act(emulator, request)
    return Response("Not Found", status=404, content_type="text/plain")


def _start(event: dict[str, Any]) -> str:
    start = event.get("start") or {}
    return str(start.get("dateTime") or start.get("date") or "")


def render(emulator: GoogleEmulatorView, error: str = "") -> Response:
    by_day: dict[str, list[tuple[str, dict[str, Any]]]] = defaultdict(list)
    with emulator.store.lock:
        calendar_ids = list(emulator.store.calendars)
    for calendar_id in calendar_ids:
        for event in emulator.events(calendar_id):
            by_day[_start(event)[:10]].append((calendar_id, event))
    days = ""
    for day in sorted(by_day):
        rows = ""
        for calendar_id, event in sorted(by_day[day], key=lambda pair: _start(pair[1])):
            rows += _event(calendar_id, event)
        days += f'<section class="day" data-day="{html.escape(day)}"><h2>{day}</h2>{rows}</section>'
    problem = f'<p role="alert">{html.escape(error)}</p>' if error else ""
    empty = "<p>No events yet. Connect Google Calendar in the hub's console.</p>"
    body = f"<h1>Google Calendar sandbox</h1>{problem}{days or empty}"
    status = 400 if error else 200  # bad input: 400, naming it
    return PAGES.page("Google Calendar sandbox", body, status)


def _event(calendar_id: str, event: dict[str, Any]) -> str:
    ident = {"calendar_id": calendar_id, "event_id": event["id"]}
    hidden = "".join(
        f'<input type="hidden" name="{k}" value="{html.escape(v)}">' for k, v in ident.items()
    )
    moves = "".join(
        f'<form method="post" action="/sandbox/move">{hidden}'
        f'<input type="hidden" name="minutes" value="{minutes}">'
        f'<button type="submit">Move {label}</button></form>'
        for minutes, label in MOVES
    )
    cancel = (
        f'<form method="post" action="/sandbox/cancel">{hidden}'
        '<button type="submit">Cancel event</button></form>'
    )
    start, end = _start(event), str((event.get("end") or {}).get("dateTime", ""))
    when = f"{start[11:16]} to {end[11:16]}" if "T" in start else "all day"
    summary = html.escape(str(event.get("summary", "(no title)")))
    return (
        f'<div class="event" data-event="{html.escape(event["id"])}">'
        f'<span class="when">{when}</span><strong>{summary}</strong>'
        f'<span class="calendar">{html.escape(calendar_id)}</span>{moves}{cancel}</div>'
    )


def act(emulator: GoogleEmulatorView, request: Request) -> Response:
    calendar_id = request.form.get("calendar_id", "primary")
    event_id = request.form.get("event_id", "")
    try:
        event = emulator.event(event_id, calendar_id)
    except (KeyError, ApiError):
        return render(emulator, f"event_id: no event {event_id!r} in {calendar_id!r}")
    if request.path == "/sandbox/cancel":
        emulator.cancel_event(event_id, calendar_id)
        return Response(status=303, headers={"Location": "/sandbox"})
    try:
        minutes = int(request.form.get("minutes", ""))
        start = datetime.fromisoformat(event["start"]["dateTime"])
        end = datetime.fromisoformat(event["end"]["dateTime"])
    except (KeyError, TypeError, ValueError):
        return render(emulator, "minutes: a whole number of minutes, for a timed event")
    shift = timedelta(minutes=minutes)
    emulator.move_event(
        event_id, (start + shift).isoformat(), (end + shift).isoformat(), calendar_id
    )
    return Response(status=303, headers={"Location": "/sandbox"})


def consent(request: Request) -> Response:
    params = request.args.to_dict()
    return PAGES.consent(
        params,
        authorize="/o/oauth2/v2/auth",
        heading="Mycelium wants to access your Google Account",
        scopes=params.get("scope", "") or "(none)",
        deny="Deny",
    )


def denied(params: dict[str, str]) -> Response:
    query = {"error": "access_denied", **({"state": params["state"]} if "state" in params else {})}
    target = f"{params.get('redirect_uri', '')}?{urlencode(query)}"
    return Response(status=302, headers={"Location": target})
