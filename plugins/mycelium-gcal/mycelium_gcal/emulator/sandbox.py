"""`hub up --sandbox`'s Google Calendar: the emulator of the tests with a consent page, and
its page at ``/sandbox``."""

from __future__ import annotations

from mycelium_gcal.emulator.server import GoogleEmulator


def start(host: str, hub_url: str) -> GoogleEmulator:
    """A Google serving on `host` (loopback only); push notifications go to the addresses the
    hub gives when it watches a calendar (under `hub_url`)."""
    emulator = GoogleEmulator("sandbox-client.apps.googleusercontent.com")
    emulator.oauth.client_secret = "sandbox-google-secret"
    emulator.consent = True
    return emulator.start(host)
