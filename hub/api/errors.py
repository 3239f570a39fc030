"""One error handler: every error renders as {"error": {"code", "message", "details"}}."""

from __future__ import annotations

import logging

from flask import Flask, Response, current_app, jsonify, request
from sqlalchemy.exc import DBAPIError, IntegrityError
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from hub.api.auth import count_failed_authentication
from hub.core.db import database_unavailable
from hub.errors import (
    Conflict,
    DatabaseUnavailable,
    HubError,
    PayloadTooLarge,
    Unauthorized,
)

log = logging.getLogger("hub.api")


def render(error: HubError) -> Response:
    response = jsonify(error.to_dict())
    response.status_code = error.status
    retry_after = getattr(error, "retry_after", None)  # RateLimited, DatabaseUnavailable
    if retry_after is not None:
        response.headers["Retry-After"] = str(max(1, int(retry_after + 0.999)))
    return response


def _unauthorized(error: Unauthorized) -> Response:
    """Every 401 (a bad key, a public route's bad signature) counts against the client's
    address, so guessing keys or signatures is slowed down (HUB_AUTH_FAIL_LIMIT)."""
    count_failed_authentication()
    return render(error)


def _http(error: HTTPException) -> Response:
    if isinstance(error, RequestEntityTooLarge):
        limit = request.max_content_length or current_app.config["MAX_CONTENT_LENGTH"]
        return render(
            PayloadTooLarge(
                "The request body is larger than allowed.",
                {"_schema": [f"Larger than {limit} bytes."]},
            )
        )
    hub_error = HubError(error.description or error.name)
    hub_error.status = error.code or 500
    hub_error.code = (error.name or "error").lower().replace(" ", "_")
    response = render(hub_error)
    if error.code == 405 and error.response is None:
        allowed = getattr(error, "valid_methods", None)
        if allowed:
            response.headers["Allow"] = ", ".join(allowed)
    return response


def _integrity(error: IntegrityError) -> Response:
    """Two requests raced past a uniqueness check; the database kept the first."""
    log.info("integrity error: %s", error.orig)
    return render(Conflict("The request conflicts with a change made at the same time."))


def _database(error: DBAPIError) -> Response:
    """A lost connection (a restart, a terminated backend) or a database that stayed busy:
    the transaction was not applied, so the client may send the request again."""
    if not database_unavailable(error):
        return _unexpected(error)
    log.warning("database unavailable: %s", error.orig)
    return render(DatabaseUnavailable("The database is unavailable; nothing was changed. Retry."))


def _unexpected(error: Exception) -> Response:
    log.exception("unhandled error")
    return render(HubError("Something went wrong on our side."))


def init_app(app: Flask) -> None:
    app.register_error_handler(HubError, render)
    app.register_error_handler(Unauthorized, _unauthorized)
    app.register_error_handler(HTTPException, _http)
    app.register_error_handler(IntegrityError, _integrity)
    app.register_error_handler(DBAPIError, _database)
    app.register_error_handler(Exception, _unexpected)
