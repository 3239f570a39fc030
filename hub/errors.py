"""The hub's one error hierarchy: every error has an HTTP status and a stable code."""

from __future__ import annotations

from typing import Any


class HubError(Exception):
    """Base of every error the hub raises on purpose."""

    status = 500
    code = "internal_error"

    def __init__(self, message: str = "", details: dict[str, Any] | None = None) -> None:
        super().__init__(message or self.__doc__ or self.code)
        self.message = message or (self.__doc__ or self.code).rstrip(".")
        self.details = details or {}

    def to_dict(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": self.message, "details": self.details}}


class ConfigError(HubError):
    """A setting is missing or malformed."""

    code = "config_error"


class BadRequest(HubError):
    """The request cannot be read."""

    status = 400
    code = "bad_request"


class ValidationError(BadRequest):
    """One or more fields are invalid; details name each one."""

    code = "validation_error"


class Unauthorized(HubError):
    """A valid API key is required."""

    status = 401
    code = "unauthorized"


class Forbidden(HubError):
    """The API key's role does not allow this."""

    status = 403
    code = "forbidden"


class NotFound(HubError):
    """No such object in this organization."""

    status = 404
    code = "not_found"


class Conflict(HubError):
    """The request conflicts with existing state."""

    status = 409
    code = "conflict"


class PayloadTooLarge(HubError):
    """The request body is larger than allowed."""

    status = 413
    code = "payload_too_large"


class RateLimited(HubError):
    """Too many requests; try again after `retry_after` seconds."""

    status = 429
    code = "rate_limited"

    def __init__(self, retry_after: float, message: str = "") -> None:
        super().__init__(message, {"retry_after": retry_after})
        self.retry_after = retry_after


class PermanentError(HubError):
    """A provider refused work that retrying cannot fix."""

    status = 502
    code = "permanent_error"


class NeedsReauth(HubError):
    """The integration's credentials were refused; an admin must reconnect it."""

    status = 502
    code = "needs_reauth"


class EgressRefused(ValidationError):
    """A destination an organization supplied is not allowed."""

    code = "egress_refused"


class ServiceUnavailable(HubError):
    """A service the hub depends on is unreachable."""

    status = 503
    code = "service_unavailable"


class DatabaseUnavailable(ServiceUnavailable):
    """The database connection was lost or the database stayed busy; nothing was changed."""

    retry_after = 2.0
