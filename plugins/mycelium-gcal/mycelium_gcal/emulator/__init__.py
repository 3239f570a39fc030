"""A loopback Google (OAuth and Calendar API v3) for tests, benchmarks and the sandbox."""

from __future__ import annotations

from mycelium_gcal.emulator.server import GoogleEmulator

__all__ = ["GoogleEmulator"]
