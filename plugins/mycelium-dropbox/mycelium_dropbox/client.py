"""Dropbox API v2 over the hub's HTTP session (``ctx.http``).

RPC routes are POSTed as JSON to the API host; upload routes go to the content host with
their argument in the ``Dropbox-API-Arg`` header and the bytes as the body. Dropbox's
answers become the hub's errors, so a run shows what to do: a ``429`` is ``RateLimited``
(raised by ``ctx.http`` with its ``Retry-After``), so is ``too_many_write_operations``;
a ``401`` after the hub's one refresh is ``NeedsReauth``; ``insufficient_space`` is
:class:`InsufficientSpace` (a ``PermanentError``, 507); a ``5xx`` or no answer is a
retryable :class:`DropboxError`; other route errors (409) are :class:`RouteError`, which
callers read by their ``error_summary`` (``path/conflict/folder/..``).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import requests

from hub import HubError, NeedsReauth, PermanentError, RateLimited

TokenSource = Callable[[], str]  # a valid access token (``ctx.access_token``)
WRITE_RETRY_AFTER = 2.0  # too_many_write_operations: Dropbox asks for a short pause


class DropboxError(HubError):
    """Dropbox failed in a way that may pass (5xx, no answer, a broken answer): retried."""

    status = 502
    code = "dropbox_error"


class RouteError(HubError):
    """Dropbox refused the call with a route error (``error_summary`` / ``error``)."""

    status = 409
    code = "dropbox_route_error"

    def __init__(self, summary: str, error: dict[str, Any]) -> None:
        super().__init__(f"Dropbox refused it: {summary}")
        self.summary, self.error = summary, error

    def has(self, prefix: str) -> bool:
        """Does the summary start with `prefix` (``path/conflict``)?"""
        return self.summary.startswith(prefix)


class InsufficientSpace(PermanentError):
    """The Dropbox account is full: an admin must free space or upgrade."""

    status = 507
    code = "insufficient_space"


class IncorrectOffset(HubError):
    """An upload session has a different number of bytes than we said: go on from it."""

    status = 409
    code = "incorrect_offset"

    def __init__(self, correct_offset: int) -> None:
        super().__init__(f"Dropbox holds {correct_offset} bytes of the session.")
        self.correct_offset = correct_offset


class CursorReset(HubError):
    """A list_folder cursor is no longer valid: list the folder again."""

    status = 409
    code = "cursor_reset"


def api_arg(value: Any) -> str:
    """A ``Dropbox-API-Arg`` header: JSON in ASCII, with 0x7F escaped as Dropbox asks."""
    return json.dumps(value, ensure_ascii=True).replace("\x7f", "\\u007f")


def _find_offset(error: Any) -> int | None:
    """The ``correct_offset`` of an ``incorrect_offset`` error, however deep it sits."""
    if isinstance(error, dict):
        if error.get(".tag") == "incorrect_offset" and "correct_offset" in error:
            return int(error["correct_offset"])
        for value in error.values():
            found = _find_offset(value)
            if found is not None:
                return found
    return None


class DropboxClient:
    """The Dropbox routes the plugin calls, for one organization's connected account."""

    def __init__(
        self,
        http: requests.Session,
        api_base: str,
        content_base: str,
        token: TokenSource,
        timeout: float = 30.0,
    ) -> None:
        self.http, self.token, self.timeout = http, token, timeout
        self.api_base, self.content_base = api_base.rstrip("/"), content_base.rstrip("/")

    # ----- transport -----

    def rpc(self, route: str, arg: Any = None) -> Any:
        """An RPC route on the API host (``files/create_folder_v2``)."""
        headers = {"Authorization": f"Bearer {self.token()}"}
        data = None
        if arg is not None:
            headers["Content-Type"] = "application/json"
            data = json.dumps(arg).encode()
        return self._send(f"{self.api_base}/2/{route}", headers, data)

    def content(self, route: str, arg: Any, data: bytes | memoryview) -> Any:
        """An upload route on the content host: the argument in a header, the bytes as body."""
        headers = {
            "Authorization": f"Bearer {self.token()}",
            "Content-Type": "application/octet-stream",
            "Dropbox-API-Arg": api_arg(arg),
        }
        return self._send(f"{self.content_base}/2/{route}", headers, data)

    def _send(self, url: str, headers: dict[str, str], data: bytes | memoryview | None) -> Any:
        # a memoryview (a chunk of the mapped spool file) goes to the socket as it is: requests
        # gives it its length, urllib3 sends any buffer whole; an empty one would be chunked
        body: Any = data if data is None or len(data) else b""
        try:
            response = self.http.post(url, headers=headers, data=body, timeout=self.timeout)
        except requests.RequestException as exc:
            raise DropboxError(f"Dropbox did not answer: {exc.__class__.__name__}.") from None
        return self._answer(response)

    def _answer(self, response: requests.Response) -> Any:
        status = response.status_code
        if status == 200:
            try:
                return response.json()
            except ValueError:
                raise DropboxError("Dropbox answered 200 with a body that is not JSON.") from None
        if status == 400:
            raise PermanentError(f"Dropbox refused the request: {response.text[:300]}")
        if status == 401:
            raise NeedsReauth("Dropbox refused the access token; reconnect Dropbox.")
        if status in (403, 404, 409):
            self._route_error(response)
        if status == 429:  # ctx.http raises first; a session without it still waits
            raise RateLimited(WRITE_RETRY_AFTER, "Dropbox answered 429.")
        raise DropboxError(f"Dropbox answered {status}.")

    def _route_error(self, response: requests.Response) -> None:
        try:
            body = response.json()
        except ValueError:
            body = {}
        summary = str(body.get("error_summary") or f"HTTP {response.status_code}")
        error = body.get("error") if isinstance(body.get("error"), dict) else {}
        if "insufficient_space" in summary:
            raise InsufficientSpace("The Dropbox account is out of space: free some or upgrade.")
        if "too_many_write_operations" in summary:
            raise RateLimited(WRITE_RETRY_AFTER, "Dropbox: too many write operations; waiting.")
        if "content_hash_mismatch" in summary:  # bytes damaged on the way: send them again
            raise DropboxError("Dropbox received other bytes than were sent (content hash).")
        offset = _find_offset(error)
        if offset is not None:
            raise IncorrectOffset(offset)
        if summary.startswith("reset") or "/reset" in summary:
            raise CursorReset("Dropbox reset the folder cursor.")
        raise RouteError(summary, error or {})

    # ----- routes -----

    def create_folder(self, path: str) -> dict[str, Any] | None:
        """Make a folder; None when it exists already (a conflict with a folder is success)."""
        try:
            result: dict[str, Any] = self.rpc("files/create_folder_v2", {"path": path})
        except RouteError as exc:
            if exc.has("path/conflict/folder"):
                return None
            raise
        return result["metadata"]

    def move(self, from_path: str, to_path: str, autorename: bool = True) -> dict[str, Any]:
        """Move a file or folder; renamed if the target exists (unless not `autorename`:
        then ``to/conflict/..``). Its new metadata."""
        arg = {"from_path": from_path, "to_path": to_path, "autorename": autorename}
        result: dict[str, Any] = self.rpc("files/move_v2", arg)
        return result["metadata"]

    def metadata(self, path: str) -> dict[str, Any] | None:
        """A file's or folder's metadata; None when nothing is there."""
        try:
            result: dict[str, Any] = self.rpc("files/get_metadata", {"path": path})
        except RouteError as exc:
            if "not_found" in exc.summary:
                return None
            raise
        return result

    def shared_link(self, path: str) -> str:
        """The shared link of `path`: made now, or the one that exists already."""
        try:
            made = self.rpc("sharing/create_shared_link_with_settings", {"path": path})
            return str(made["url"])
        except RouteError as exc:
            if not exc.has("shared_link_already_exists"):
                raise
            existing = (exc.error.get("shared_link_already_exists") or {}).get("metadata")
            if existing and existing.get("url"):
                return str(existing["url"])
        listed = self.rpc("sharing/list_shared_links", {"path": path, "direct_only": True})
        for link in listed.get("links") or []:
            return str(link["url"])
        raise DropboxError(f"Dropbox said a shared link of {path} exists but listed none.")

    def upload(self, commit: dict[str, Any], data: bytes) -> dict[str, Any]:
        """One request upload (up to 150 MiB): the file's metadata."""
        result: dict[str, Any] = self.content("files/upload", commit, data)
        return result

    def session_start(self, data: bytes | memoryview) -> str:
        return str(self.content("files/upload_session/start", {"close": False}, data)["session_id"])

    def session_append(self, session_id: str, offset: int, data: bytes | memoryview) -> None:
        arg = {"cursor": {"session_id": session_id, "offset": offset}, "close": False}
        self.content("files/upload_session/append_v2", arg, data)

    def session_finish(
        self, session_id: str, offset: int, commit: dict[str, Any], data: bytes | memoryview
    ) -> dict[str, Any]:
        arg = {"cursor": {"session_id": session_id, "offset": offset}, "commit": commit}
        result: dict[str, Any] = self.content("files/upload_session/finish", arg, data)
        return result

    def list_folder(self, path: str, recursive: bool = True) -> dict[str, Any]:
        arg = {"path": path, "recursive": recursive, "include_deleted": False}
        result: dict[str, Any] = self.rpc("files/list_folder", arg)
        return result

    def list_folder_continue(self, cursor: str) -> dict[str, Any]:
        result: dict[str, Any] = self.rpc("files/list_folder/continue", {"cursor": cursor})
        return result

    def current_account(self) -> dict[str, Any]:
        result: dict[str, Any] = self.rpc("users/get_current_account")
        return result

    def space_usage(self) -> dict[str, Any]:
        result: dict[str, Any] = self.rpc("users/get_space_usage")
        return result
