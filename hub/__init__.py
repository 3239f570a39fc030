"""Mycelium Hub. This module is the public API for plugin authors; nothing else is promised."""

from __future__ import annotations

from hub.errors import HubError, NeedsReauth, PermanentError, RateLimited

__version__ = "0.1.0"

__all__ = ["HubError", "NeedsReauth", "PermanentError", "RateLimited", "__version__"]
