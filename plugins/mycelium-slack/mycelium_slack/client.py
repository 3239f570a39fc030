"""The Slack Web API and incoming webhooks over the hub's HTTP session (``ctx.http``).

Slack answers errors with HTTP 200 and ``{"ok": false, "error": ...}``; this module turns
them into the hub's errors, so the run shows what an admin must do:
``PermanentError`` (pick another channel), ``NeedsReauth`` (reconnect Slack),
``RateLimited`` (try later), anything else a retryable :class:`SlackError`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import requests

from hub import HubError, NeedsReauth, PermanentError, RateLimited

CHANNEL_ERRORS = {
    "channel_not_found": "was not found",
    "channel_is_archived": "is archived",
    "is_archived": "is archived",
    "not_in_channel": "is private and the Mycelium app was not invited to it",
}
REAUTH_ERRORS = {
    "invalid_auth",
    "account_inactive",
    "token_revoked",
    "token_expired",
    "not_authed",
    "missing_scope",
    "no_permission",
    "team_access_not_granted",
    # incoming webhook answers when the webhook itself is gone
    "invalid_token",
    "no_service",
    "no_team",
    "no_service_id",
}
RETRYABLE_ERRORS = {"internal_error", "fatal_error", "request_timeout", "service_unavailable"}
DEFAULT_RETRY_AFTER = 60.0
PAGE_SIZE = 200


class SlackError(HubError):
    """Slack failed in a way that may pass: the run is retried."""

    status = 502
    code = "slack_error"


@dataclass(frozen=True)
class SlackPerson:
    """A human member of the workspace."""

    id: str
    name: str
    real_name: str
    email: str | None


def retry_after(response: requests.Response) -> float:
    try:
        return max(float(response.headers.get("Retry-After", "")), 1.0)
    except ValueError:
        return DEFAULT_RETRY_AFTER


def raise_for_error(error: str, channel: str | None = None) -> None:
    """Turn Slack's error code into the hub's error for it."""
    if error in CHANNEL_ERRORS:
        where = f"The Slack channel {channel}" if channel else "The Slack channel"
        raise PermanentError(
            f"{where} {CHANNEL_ERRORS[error]} ({error}); choose another channel.",
            {"slack_error": error, "channel": channel},
        )
    if error in REAUTH_ERRORS:
        raise NeedsReauth(f"Slack refused our credentials ({error}); reconnect Slack.")
    if error in ("ratelimited", "rate_limited"):
        raise RateLimited(DEFAULT_RETRY_AFTER, "Slack is rate limiting us.")
    if error in RETRYABLE_ERRORS:
        raise SlackError(f"Slack failed: {error}.", {"slack_error": error})
    raise PermanentError(f"Slack refused the request: {error}.", {"slack_error": error})


def check_response(response: requests.Response, channel: str | None = None) -> dict[str, Any]:
    """The JSON of a Web API answer, or the hub's error for it."""
    if response.status_code == 429:
        raise RateLimited(retry_after(response), "Slack is rate limiting us.")
    if response.status_code >= 500:
        raise SlackError(f"Slack answered HTTP {response.status_code}.")
    try:
        body = response.json()
    except ValueError:
        raise SlackError(f"Slack answered HTTP {response.status_code} without JSON.") from None
    if not isinstance(body, dict):
        raise SlackError("Slack answered something other than a JSON object.")
    if not body.get("ok"):
        raise_for_error(str(body.get("error") or "unknown_error"), channel)
    return body


class SlackClient:
    """Web API methods the plugin uses, with one bot token."""

    def __init__(
        self, http: requests.Session, api_base: str, token: str, timeout: float = 10.0
    ) -> None:
        self.http = http
        self.api_base = api_base.rstrip("/")
        self.token = token
        self.timeout = timeout

    def call(
        self,
        method: str,
        body: dict[str, Any] | None = None,
        params: dict[str, Any] | None = None,
        channel: str | None = None,
    ) -> dict[str, Any]:
        """POST ``body`` as JSON (GET with ``params`` when there is no body)."""
        url = f"{self.api_base}/{method}"
        headers = {"Authorization": f"Bearer {self.token}"}
        if body is None:
            response = self.http.get(url, params=params, headers=headers, timeout=self.timeout)
        else:
            response = self.http.post(url, json=body, headers=headers, timeout=self.timeout)
        return check_response(response, channel)

    def post_message(self, channel: str, payload: dict[str, Any]) -> dict[str, Any]:
        """``chat.postMessage``: returns Slack's answer (``channel``, ``ts``)."""
        return self.call("chat.postMessage", {"channel": channel, **payload}, channel=channel)

    def auth_test(self) -> dict[str, Any]:
        return self.call("auth.test", {})

    def people(self, page_size: int = PAGE_SIZE) -> Iterator[SlackPerson]:
        """Every human of the workspace (``users.list``, all pages; no bots, no deleted)."""
        cursor = ""
        while True:
            params = {"limit": page_size, **({"cursor": cursor} if cursor else {})}
            page = self.call("users.list", params=params)
            yield from (person_of(m) for m in page.get("members") or [] if is_human(m))
            cursor = (page.get("response_metadata") or {}).get("next_cursor") or ""
            if not cursor:
                return

    def lookup_by_email(self, email: str) -> SlackPerson | None:
        """``users.lookupByEmail``: the human with this address, if any."""
        try:
            found = self.call("users.lookupByEmail", params={"email": email})
        except PermanentError as exc:
            if exc.details.get("slack_error") == "users_not_found":
                return None
            raise
        member = found.get("user") or {}
        return person_of(member) if is_human(member) else None


def is_human(member: dict[str, Any]) -> bool:
    """Slackbot is not flagged as a bot, so it is excluded by id."""
    return bool(member.get("id")) and not (
        member.get("deleted") or member.get("is_bot") or member.get("id") == "USLACKBOT"
    )


def person_of(member: dict[str, Any]) -> SlackPerson:
    profile = member.get("profile") or {}
    return SlackPerson(
        id=str(member["id"]),
        name=str(member.get("name") or ""),
        real_name=str(member.get("real_name") or profile.get("real_name") or ""),
        email=profile.get("email") or None,
    )


def post_webhook(
    http: requests.Session, url: str, payload: dict[str, Any], channel: str | None, timeout: float
) -> None:
    """POST to an incoming webhook (or a ``response_url``); Slack answers ``ok`` in plain text."""
    response = http.post(url, json=payload, timeout=timeout)
    if response.status_code == 429:
        raise RateLimited(retry_after(response), "Slack is rate limiting us.")
    if response.status_code >= 500:
        raise SlackError(f"Slack's incoming webhook answered HTTP {response.status_code}.")
    if response.status_code != 200:
        raise_for_error(response.text.strip()[:100] or f"http_{response.status_code}", channel)
