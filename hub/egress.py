"""The egress guard, public API: check every destination an organization supplies.

``check_url`` when a destination is registered (a webhook URL, an automation target),
``egress_session`` to call it (each connection re-checks the address the name resolves to
then, and redirects are never followed), ``check_host`` / ``create_connection`` for
non-HTTP destinations (an SMTP server). ``settings`` is any mapping holding
``HUB_EGRESS_ALLOW_HTTP`` and ``HUB_EGRESS_ALLOWED_CIDRS``; by default the current app's.
"""

from __future__ import annotations

import socket
from collections.abc import Mapping
from typing import Any

import requests
from flask import current_app

from hub.core.egress import EgressPolicy
from hub.core.egress_http import egress_session as _session
from hub.errors import EgressRefused

__all__ = [
    "EgressPolicy",
    "EgressRefused",
    "check_host",
    "check_url",
    "create_connection",
    "egress_session",
    "policy",
]


def policy(settings: Mapping[str, Any] | None = None) -> EgressPolicy:
    """The egress policy of `settings` (default: the current app's configuration)."""
    return EgressPolicy.from_settings(current_app.config if settings is None else settings)


def check_url(url: str, settings: Mapping[str, Any] | None = None, field: str = "url") -> str:
    """Refuse (EgressRefused, a 400 naming `field`) a URL the hub must not call; returns it."""
    return policy(settings).check_url(url, field)


def check_host(
    host: str, port: int, settings: Mapping[str, Any] | None = None, field: str = "host"
) -> list[str]:
    """Refuse a host:port the hub must not reach; the vetted addresses."""
    return policy(settings).check_host(host, port, field)


def create_connection(
    host: str,
    port: int,
    timeout: float | None,
    settings: Mapping[str, Any] | None = None,
    field: str = "host",
) -> socket.socket:
    """A socket to host:port, connected to an address checked just now."""
    return policy(settings).create_connection(host, port, timeout, field)


def egress_session(
    settings: Mapping[str, Any] | None = None, timeout: float | None = None
) -> requests.Session:
    """A requests session that re-checks addresses at connect time and never redirects."""
    config = current_app.config if settings is None else settings
    return _session(policy(config), timeout or float(config.get("HUB_HTTP_TIMEOUT", 10.0)))
