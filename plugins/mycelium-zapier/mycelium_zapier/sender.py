"""One signed POST to Zapier through the hub's egress guard; every failure is an Outcome."""

from __future__ import annotations

import http.cookiejar
import threading
import time
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import requests
from flask import current_app

from hub import EgressRefused, attempt_deadline, egress_session, now, sign_webhook
from mycelium_zapier.provider import __version__
from mycelium_zapier.retry import parse_retry_after

USER_AGENT = f"Mycelium-Zapier/{__version__}"
MAX_RESPONSE_BYTES = 16_384  # kept for the error message; the rest is not read
_HTTP = "mycelium_zapier.http"  # app.extensions: the worker's session, kept between jobs


@dataclass(frozen=True)
class Message:
    """What one attempt sends: the event id is the webhook-id on every retry."""

    url: str
    secret: str
    event_id: str
    event_type: str
    body: str


@dataclass(frozen=True)
class Outcome:
    attempted_at: datetime
    status: int | None = None
    error: str | None = None
    timed_out: bool = False
    retry_after: float | None = None
    duration_ms: int = 0
    response_body: str | None = None  # the first MAX_RESPONSE_BYTES

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    @property
    def gone(self) -> bool:
        """Zapier's answer once the Zap is off: the subscription must be deleted."""
        return self.status == 410


class _NoCookies(http.cookiejar.DefaultCookiePolicy):
    """One organization's Zap must never receive cookies another one set."""

    def set_ok(self, cookie: http.cookiejar.Cookie, request: Any) -> bool:
        return False


def pooled_http(timeout: float) -> requests.Session:
    """This thread's session through the egress guard, kept so connections to Zapier are
    reused (one TLS handshake per sender thread, not per event); a session per thread, as
    the sender's threads send side by side."""
    sessions: threading.local = current_app.extensions.setdefault(_HTTP, threading.local())
    session: requests.Session | None = getattr(sessions, "session", None)
    if session is None:
        session = egress_session(timeout=timeout)
        session.cookies.set_policy(_NoCookies())
        sessions.session = session
    return session


def headers(message: Message, body: bytes) -> dict[str, str]:
    """Standard Webhooks headers; the timestamp (and so the signature) is this attempt's."""
    stamp = int(now().timestamp())
    return {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "webhook-id": message.event_id,
        "webhook-timestamp": str(stamp),
        "webhook-signature": sign_webhook(message.secret, message.event_id, stamp, body),
        "X-Mycelium-Event": message.event_type,
    }


def _read_some(response: requests.Response, deadline: float) -> str:
    """A little of the body, then the connection is closed: a slow drip cannot hold us
    (past the deadline the socket is shut down: the status stands, the body is cut)."""
    chunks, size = [], 0
    try:
        for chunk in response.iter_content(4096):
            chunks.append(chunk)
            size += len(chunk)
            if size >= MAX_RESPONSE_BYTES or time.monotonic() > deadline:
                break
    except requests.RequestException:
        if time.monotonic() < deadline:
            raise
    finally:
        response.close()
    return b"".join(chunks)[:MAX_RESPONSE_BYTES].decode("utf-8", "replace")


def _error_text(status: int, text: str) -> str | None:
    if 200 <= status < 300:
        return None
    return f"HTTP {status}: {text[:500]}" if text.strip() else f"HTTP {status}"


def send(
    http: requests.Session, message: Message, timeout: float, connect: float | None = None
) -> Outcome:
    """POST `message` signed, connecting within `connect` seconds and done within `timeout`
    in all (the socket is shut down at the deadline); nothing raises."""
    started = time.monotonic()
    outcome = _post(http, message, timeout, connect)
    return replace(outcome, duration_ms=int((time.monotonic() - started) * 1000))


def _post(
    http: requests.Session, message: Message, timeout: float, connect: float | None
) -> Outcome:
    attempted_at, started = now(), time.monotonic()
    body = message.body.encode()
    limits = (min(connect or timeout, timeout), timeout)
    timed_out = Outcome(attempted_at, error=f"Timed out after {timeout:g} s.", timed_out=True)
    with attempt_deadline(timeout) as attempt:
        try:
            response = http.post(
                message.url, data=body, headers=headers(message, body), timeout=limits, stream=True
            )
            text = _read_some(response, started + timeout)
        except requests.Timeout:
            return timed_out
        except requests.RequestException as exc:
            if attempt.expired:  # cut short at the deadline
                return timed_out
            return Outcome(attempted_at, error=f"Connection failed: {str(exc)[:500]}")
        except EgressRefused as exc:
            return Outcome(attempted_at, error=f"Refused by the egress guard: {exc}")
    status = response.status_code
    retry_after = parse_retry_after(response.headers.get("Retry-After"), attempted_at)
    error = _error_text(status, text)
    return Outcome(attempted_at, status, error, False, retry_after, response_body=text)
