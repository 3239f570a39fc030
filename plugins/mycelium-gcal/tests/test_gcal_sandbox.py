"""The Google emulator's sandbox pages (`hub up --sandbox`): events by day, a move or a
cancel "in Google" notifies the watching channel, the consent page asks, bad input is a
400 naming it."""

from __future__ import annotations

from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests
from mycelium_gcal.emulator import GoogleEmulator
from mycelium_gcal.emulator.sandbox import start


def _event(google: GoogleEmulator, start: str, end: str) -> str:
    body = {"summary": "Review", "start": {"dateTime": start}, "end": {"dateTime": end}}
    with google.store.lock:
        made = google.store.insert(google.store.calendar("primary"), body, conference=False)
    return str(made["id"])


def test_move_and_cancel_in_google() -> None:
    google = start("127.0.0.1", "http://127.0.0.1:9")
    try:
        event_id = _event(google, "2026-12-07T10:00:00+00:00", "2026-12-07T10:30:00+00:00")
        page = requests.get(f"{google.url}/sandbox", timeout=10)
        assert page.status_code == 200 and "Sandbox:" in page.text
        assert 'data-day="2026-12-07"' in page.text and "10:00 to 10:30" in page.text
        form = {"calendar_id": "primary", "event_id": event_id}
        moved = requests.post(
            f"{google.url}/sandbox/move", data={**form, "minutes": "60"}, timeout=10
        )
        assert moved.status_code == 200
        assert google.event(event_id)["start"]["dateTime"].startswith("2026-12-07T11:00:00")
        bad = requests.post(
            f"{google.url}/sandbox/move", data={**form, "minutes": "soon"}, timeout=10
        )
        assert bad.status_code == 400 and "minutes:" in bad.text
        assert google.event(event_id)["start"]["dateTime"].startswith("2026-12-07T11:00:00")
        missing = requests.post(
            f"{google.url}/sandbox/cancel", data={**form, "event_id": "nope"}, timeout=10
        )
        assert missing.status_code == 400 and "event_id:" in missing.text
        cancelled = requests.post(f"{google.url}/sandbox/cancel", data=form, timeout=10)
        assert cancelled.status_code == 200 and google.events() == []
    finally:
        google.stop()


def test_the_consent_page_asks() -> None:
    google = start("127.0.0.1", "http://127.0.0.1:9")
    try:
        query = urlencode(
            {
                "client_id": google.oauth.client_id,
                "response_type": "code",
                "redirect_uri": "http://127.0.0.1:9/cb",
                "state": "s",
            }
        )
        url = f"{google.url}/o/oauth2/v2/auth?{query}"
        page = requests.get(url, allow_redirects=False, timeout=10)
        assert page.status_code == 200 and "Allow" in page.text and "Deny" in page.text
        denied = requests.get(url + "&decision=deny", allow_redirects=False, timeout=10)
        assert parse_qs(urlsplit(denied.headers["Location"]).query)["error"] == ["access_denied"]
        allowed = requests.get(url + "&decision=approve", allow_redirects=False, timeout=10)
        assert "code" in parse_qs(urlsplit(allowed.headers["Location"]).query)
    finally:
        google.stop()


def test_it_serves_loopback_only() -> None:
    with pytest.raises(ValueError, match="loopback"):
        start("0.0.0.0", "http://127.0.0.1:8000")
