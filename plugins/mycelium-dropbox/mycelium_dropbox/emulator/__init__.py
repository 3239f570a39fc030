"""A loopback Dropbox (OAuth, the API and content hosts, webhooks) for tests, benchmarks
and the sandbox."""

from __future__ import annotations

from mycelium_dropbox.emulator.server import DropboxEmulator

__all__ = ["DropboxEmulator"]
