"""What every request is held to before any view reads it: a chunked body (no
Content-Length) past the size limit is a 413, like a declared one, not a truncated body."""

from __future__ import annotations

import io

from flask import current_app, request

from hub.errors import PayloadTooLarge


def refuse_oversized_chunked_body() -> None:
    """Read a chunked body up to the limit and one byte more; more is a 413."""
    if request.content_length is not None or not request.environ.get("wsgi.input_terminated"):
        return
    limit = int(current_app.config["MAX_CONTENT_LENGTH"])
    raw = request.environ["wsgi.input"].read(limit + 1)
    if len(raw) > limit:
        raise PayloadTooLarge(
            "The request body is larger than allowed.", {"_schema": [f"Larger than {limit} bytes."]}
        )
    request.environ["wsgi.input"] = io.BytesIO(raw)
