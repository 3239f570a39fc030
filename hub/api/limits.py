"""What every request is held to before any view reads it: a chunked body (no
Content-Length) past the size limit is a 413, like a declared one, not a truncated body.
A plugin view marked with :func:`hub.own_body_limit` gets its own limit instead, and
reads its body itself."""

from __future__ import annotations

import io

from flask import current_app, request

from hub.errors import PayloadTooLarge
from hub.web import BODY_LIMIT_MARK


def own_limit() -> int | None:
    """The limit of the view's own (``own_body_limit``), None for the app's."""
    view = current_app.view_functions.get(request.endpoint or "")
    setting = getattr(view, BODY_LIMIT_MARK, None)
    return int(current_app.config[setting]) if setting else None


def refuse_oversized_chunked_body() -> None:
    """Read a chunked body up to the limit and one byte more; more is a 413."""
    limit = own_limit()
    if limit is not None:
        request.max_content_length = limit  # werkzeug refuses past it as the view reads
        return
    if request.content_length is not None or not request.environ.get("wsgi.input_terminated"):
        return
    limit = int(current_app.config["MAX_CONTENT_LENGTH"])
    raw = request.environ["wsgi.input"].read(limit + 1)
    if len(raw) > limit:
        raise PayloadTooLarge(
            "The request body is larger than allowed.", {"_schema": [f"Larger than {limit} bytes."]}
        )
    request.environ["wsgi.input"] = io.BytesIO(raw)
