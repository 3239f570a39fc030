"""JSON answers: times are ISO 8601 in UTC with a `+00:00` offset, whoever returns them."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from flask import Response
from flask.json.provider import DefaultJSONProvider


def iso(moment: datetime) -> str:
    """The API's one time format; a naive time is taken as UTC (how the database keeps it)."""
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    return aware.astimezone(UTC).isoformat()


class HubJSONProvider(DefaultJSONProvider):
    """Flask's JSON, except that a datetime is ISO 8601 rather than an HTTP date."""

    sort_keys = False

    @staticmethod
    def default(o: Any) -> Any:
        if isinstance(o, datetime):
            return iso(o)
        if isinstance(o, date):
            return o.isoformat()
        return DefaultJSONProvider.default(o)


def no_content_no_type(response: Response) -> Response:
    """A 204 has no body, so it names no media type (Flask would say text/html)."""
    if response.status_code == 204:
        response.headers.pop("Content-Type", None)
    return response
