"""`hub up --sandbox`'s Dropbox: the emulator of the tests with a consent page, and its page
at ``/sandbox`` on the API host."""

from __future__ import annotations

from mycelium_dropbox.emulator.server import DropboxEmulator


def start(host: str, hub_url: str) -> DropboxEmulator:
    """A Dropbox serving on `host` (loopback only) whose webhooks go to `hub_url`."""
    emulator = DropboxEmulator("sandbox-dropbox-app-key", "sandbox-dropbox-app-secret")
    emulator.consent = True
    emulator.hub_url = hub_url.rstrip("/")
    return emulator.start(host)
