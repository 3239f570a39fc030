"""Dropbox's error answers: route errors as ``{"error_summary", "error"}`` with ``.tag``
unions, auth errors as 401, rate limits as 429 with ``Retry-After``."""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    """An answer in Dropbox's error shape."""

    def __init__(
        self, status: int, summary: str, error: Any, headers: dict[str, str] | None = None
    ):
        super().__init__(summary)
        self.status, self.summary, self.error = status, summary, error
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        return {"error_summary": self.summary, "error": self.error}


def tag(kind: str, /, **fields: Any) -> dict[str, Any]:
    return {".tag": kind, **fields}


def path_error(kind: str, conflict: str | None = None, field: str = "path") -> ApiError:
    """``path/<kind>/..`` (a LookupError or WriteError under the route's ``path`` member)."""
    inner = tag(kind, conflict=tag(conflict)) if conflict else tag(kind)
    summary = f"{field}/{kind}/{conflict + '/' if conflict else ''}.."
    return ApiError(409, summary, tag(field, **{field: inner}))


def upload_write_failed(reason: dict[str, Any], summary: str, session_id: str) -> ApiError:
    """``UploadError.path``: an ``UploadWriteFailed`` struct, its fields inlined."""
    return ApiError(
        409, f"path/{summary}/..", tag("path", reason=reason, upload_session_id=session_id)
    )


def bad_input(message: str) -> ApiError:
    """Dropbox's 400: plain text, not JSON."""
    return ApiError(400, message, None)


def auth_error(kind: str) -> ApiError:
    return ApiError(401, f"{kind}/..", tag(kind))


def rate_limited(reason: str, retry_after: int) -> ApiError:
    return ApiError(
        429,
        f"{reason}/..",
        {"reason": tag(reason), "retry_after": retry_after},
        {"Retry-After": str(retry_after)},
    )
