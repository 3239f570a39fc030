"""The Google Calendar API v3 over the hub's HTTP session (``ctx.http``).

Google's errors become the hub's, so a run shows what an admin must do:
``RateLimited`` for ``403 rateLimitExceeded`` / ``userRateLimitExceeded`` / ``quotaExceeded``
and ``429`` (waits, not failures); a ``401`` is ``NeedsReauth`` (the hub's session has
refreshed the token once and retried before the client sees one); a calendar that does not
exist (``404``) or that the account may not write is a ``PermanentError`` naming it; ``5xx``
and no answer at all (a timeout, a connection refused) are a retryable :class:`GoogleError`.
Event-level answers the callers act on are their own
exceptions: :class:`EventExists` (``409`` on an insert with our id), :class:`EventMissing`
(``404`` / ``410`` for one event) and :class:`FullSyncRequired` (``410`` for an expired
sync token).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import quote

import requests

from hub import HubError, NeedsReauth, PermanentError, RateLimited

RATE_REASONS = {"rateLimitExceeded", "userRateLimitExceeded"}
DEFAULT_RETRY_AFTER = 30.0  # Google sends no Retry-After with 403 usageLimits: back off
QUOTA_RETRY_AFTER = 3600.0  # "Calendar usage limits exceeded": a long window, not a burst
PAGE_SIZE = 250

TokenSource = Callable[[], str]  # a valid access token (``ctx.access_token``)


class GoogleError(HubError):
    """Google failed in a way that may pass (5xx, a broken answer): the run is retried."""

    status = 502
    code = "google_error"


class EventExists(HubError):
    """An insert met an event with the same id (ours, from an earlier try): patch it."""

    status = 409
    code = "event_exists"


class EventMissing(HubError):
    """The event is not there (404), or was deleted (410)."""

    status = 404
    code = "event_missing"


class FullSyncRequired(HubError):
    """The sync token expired (410): list everything again."""

    status = 410
    code = "full_sync_required"


def error_of(response: requests.Response) -> tuple[str, str]:
    """(reason, message) of Google's JSON error body; empty strings when there is none."""
    try:
        error = response.json().get("error") or {}
    except (ValueError, AttributeError):
        return "", ""
    if not isinstance(error, dict):  # OAuth-style {"error": "invalid_grant"}
        return str(error), ""
    items = error.get("errors") or [{}]
    first = items[0] if isinstance(items[0], dict) else {}
    return str(first.get("reason") or ""), str(error.get("message") or "")


def _retry_after(response: requests.Response, default: float) -> float:
    try:
        return max(float(response.headers.get("Retry-After", "")), 1.0)
    except ValueError:
        return default


def raise_for(response: requests.Response, calendar_id: str) -> None:
    """The hub's error for a failed answer about `calendar_id`."""
    status, (reason, message) = response.status_code, error_of(response)
    said = f"{message or reason or 'no details'}"
    if status == 429 or (status == 403 and reason in RATE_REASONS):
        raise RateLimited(_retry_after(response, DEFAULT_RETRY_AFTER), f"Google: {said}")
    if status == 403 and reason == "quotaExceeded":
        raise RateLimited(QUOTA_RETRY_AFTER, f"Google: {said}")
    if status == 401:
        raise NeedsReauth(f"Google refused the access token ({said}); reconnect Google Calendar.")
    if status == 403:
        raise PermanentError(
            f"The connected Google account may not write to the calendar {calendar_id!r} "
            f"({said}); share it with write access or choose another calendar_id.",
            {"calendar_id": calendar_id, "google_reason": reason},
        )
    if status == 404:
        raise PermanentError(
            f"The Google calendar {calendar_id!r} does not exist or is not shared with the "
            "connected account; fix calendar_id.",
            {"calendar_id": calendar_id, "google_reason": reason or "notFound"},
        )
    if status >= 500:
        raise GoogleError(f"Google answered HTTP {status}: {said}.")
    raise PermanentError(f"Google refused the request (HTTP {status}): {said}.", {"reason": reason})


class CalendarClient:
    """The Calendar API methods the plugin uses, for one account's token."""

    def __init__(
        self, http: requests.Session, api_base: str, tokens: TokenSource, timeout: float = 10.0
    ) -> None:
        self.http = http
        self.api_base = api_base.rstrip("/")
        self.tokens = tokens
        self.timeout = timeout

    def _send(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        """One request with the bearer token; ``ctx.http`` answers a 401 with one refresh
        (single-flight across processes) and one retry, so a 401 returned here is final."""
        headers = {"Authorization": f"Bearer {self.tokens()}"}
        url = f"{self.api_base}/{path}"
        try:
            return self.http.request(method, url, headers=headers, timeout=self.timeout, **kwargs)
        except requests.RequestException as exc:  # a timeout, a refused connection: retryable
            raise GoogleError(f"Google did not answer ({type(exc).__name__}).") from exc

    def _json(self, response: requests.Response) -> dict[str, Any]:
        try:
            body = response.json()
        except ValueError:
            raise GoogleError(
                f"Google answered HTTP {response.status_code} without JSON."
            ) from None
        if not isinstance(body, dict):
            raise GoogleError("Google answered something other than a JSON object.")
        return body

    def _call(self, method: str, calendar_id: str, path: str, **kwargs: Any) -> dict[str, Any]:
        response = self._send(method, path, **kwargs)
        if response.status_code >= 400:
            raise_for(response, calendar_id)
        return self._json(response) if response.content else {}

    # ----- events -----

    def insert_event(
        self, calendar_id: str, body: dict[str, Any], send_updates: str = "none"
    ) -> dict[str, Any]:
        """``events.insert``; :class:`EventExists` when our id is taken (an earlier try)."""
        params = _params(body, send_updates)
        response = self._send("POST", _events(calendar_id), params=params, json=body)
        if response.status_code == 409:
            raise EventExists(f"The event {body.get('id')} exists already.")
        if response.status_code >= 400:
            raise_for(response, calendar_id)
        return self._json(response)

    def patch_event(
        self, calendar_id: str, event_id: str, body: dict[str, Any], send_updates: str = "none"
    ) -> dict[str, Any]:
        """``events.patch``; :class:`EventMissing` when there is no such event."""
        params = _params(body, send_updates)
        path = _event(calendar_id, event_id)
        return self._event_call("PATCH", calendar_id, path, params=params, json=body)

    def get_event(self, calendar_id: str, event_id: str) -> dict[str, Any]:
        """``events.get`` (a deleted event comes back with ``status: cancelled``)."""
        return self._event_call("GET", calendar_id, _event(calendar_id, event_id))

    def delete_event(self, calendar_id: str, event_id: str, send_updates: str = "none") -> bool:
        """``events.delete``; False when it was gone already (404 or 410), which is success."""
        params = {"sendUpdates": send_updates}
        try:
            self._event_call("DELETE", calendar_id, _event(calendar_id, event_id), params=params)
        except EventMissing:
            return False
        return True

    def _event_call(self, method: str, calendar_id: str, path: str, **kwargs: Any) -> Any:
        response = self._send(method, path, **kwargs)
        if response.status_code in (404, 410):
            raise EventMissing(f"No event at {path} (HTTP {response.status_code}).")
        if response.status_code >= 400:
            raise_for(response, calendar_id)
        return self._json(response) if response.content else {}

    def list_page(self, calendar_id: str, **params: Any) -> dict[str, Any]:
        """One page of ``events.list``; :class:`FullSyncRequired` when a sync token expired."""
        query = {k: v for k, v in params.items() if v is not None}
        response = self._send("GET", _events(calendar_id), params=query)
        if response.status_code == 410:
            raise FullSyncRequired("Google wants a full sync (the sync token expired).")
        if response.status_code >= 400:
            raise_for(response, calendar_id)
        return self._json(response)

    def list_all(self, calendar_id: str, **params: Any) -> Iterator[dict[str, Any]]:
        """Every page of ``events.list`` with these parameters (the last has nextSyncToken)."""
        page_token = None
        while True:
            page = self.list_page(calendar_id, maxResults=PAGE_SIZE, pageToken=page_token, **params)
            yield page
            page_token = page.get("nextPageToken")
            if not page_token:
                return

    # ----- push channels -----

    def watch(self, calendar_id: str, channel: dict[str, Any]) -> dict[str, Any]:
        """``events.watch``: Google posts to ``channel["address"]`` when events change."""
        return self._call("POST", calendar_id, f"{_events(calendar_id)}/watch", json=channel)

    def stop_channel(self, channel_id: str, resource_id: str) -> bool:
        """``channels.stop``; False when Google no longer knew the channel."""
        body = {"id": channel_id, "resourceId": resource_id}
        response = self._send("POST", "channels/stop", json=body)
        if response.status_code == 404:
            return False
        if response.status_code >= 400:
            raise_for(response, "")
        return True


def _events(calendar_id: str) -> str:
    return f"calendars/{quote(calendar_id, safe='')}/events"


def _event(calendar_id: str, event_id: str) -> str:
    return f"{_events(calendar_id)}/{quote(event_id, safe='')}"


def _params(body: dict[str, Any], send_updates: str) -> dict[str, Any]:
    params: dict[str, Any] = {"sendUpdates": send_updates}
    if "conferenceData" in body:
        params["conferenceDataVersion"] = 1  # version 0 ignores conferenceData
    return params
