"""The `endpoint` decorator: auth, body and query parsing, rendering, and OpenAPI metadata."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import marshmallow
from flask import Response, jsonify, request

from hub.api.auth import authenticate
from hub.core.schemas import MAX_ID
from hub.errors import BadRequest, ValidationError


@dataclass
class EndpointDoc:
    summary: str
    body: type[marshmallow.Schema] | None = None
    query: type[marshmallow.Schema] | None = None
    response: type[marshmallow.Schema] | None = None
    many: bool = False
    status: int = 200
    role: str | None = "member"
    public: bool = False
    partial: bool = False
    tags: list[str] = field(default_factory=list)


def load(schema: marshmallow.Schema, data: Any, partial: bool = False) -> dict[str, Any]:
    """Validate `data`; a bad field becomes a 400 naming it."""
    try:
        return schema.load(data, partial=partial)
    except marshmallow.ValidationError as exc:
        messages = exc.messages if isinstance(exc.messages, dict) else {"_schema": exc.messages}
        raise ValidationError("Some fields are invalid.", messages) from None


def json_body() -> dict[str, Any]:
    """The request's JSON object ({} when there is no body); reading it enforces the size limit."""
    raw = request.get_data(cache=True)
    if not raw:
        return {}
    if not request.is_json:
        raise BadRequest(
            "Send a JSON body with Content-Type: application/json.",
            {"_schema": ["Not a JSON body."]},
        )
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):  # RecursionError: absurdly deep nesting
        raise BadRequest("The body is not valid JSON.", {"_schema": ["Not valid JSON."]}) from None
    if not isinstance(data, dict):
        raise ValidationError("Expected a JSON object.", {"_schema": ["Expected an object."]})
    return data


def check_path_ids(kwargs: dict[str, Any]) -> None:
    """Ids in the URL must fit the id columns (PostgreSQL would fail on a larger one)."""
    bad = {
        name: [f"Must be between 1 and {MAX_ID}."]
        for name, value in kwargs.items()
        if isinstance(value, int) and not 1 <= value <= MAX_ID
    }
    if bad:
        raise ValidationError("Some fields are invalid.", bad)


def reject_body() -> None:
    """A change that takes no body refuses one with fields, rather than ignore them."""
    extra = json_body()
    if extra:
        details = {name: ["Unknown field."] for name in extra}
        raise ValidationError("This endpoint takes no body.", details)


def page(items: list[Any], schema: marshmallow.Schema, next_cursor: str | None) -> dict[str, Any]:
    return {"items": schema.dump(items, many=True), "next_cursor": next_cursor}


def _parse_input(
    kwargs: dict[str, Any],
    query: type[marshmallow.Schema] | None,
    body: type[marshmallow.Schema] | None,
    partial: bool,
) -> None:
    if query is not None:
        kwargs["query"] = load(query(), request.args.to_dict())
    if body is not None:
        kwargs["body"] = load(body(), json_body(), partial=partial)
    elif request.method not in ("GET", "HEAD"):
        reject_body()


def endpoint(
    summary: str,
    *,
    body: type[marshmallow.Schema] | None = None,
    query: type[marshmallow.Schema] | None = None,
    response: type[marshmallow.Schema] | None = None,
    many: bool = False,
    status: int = 200,
    role: str | None = "member",
    public: bool = False,
    partial: bool = False,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Wrap a view: authenticate (unless public), parse `body`/`query`, render the result."""
    doc = EndpointDoc(summary, body, query, response, many, status, role, public, partial)

    def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(view)
        def wrapper(**kwargs: Any) -> Any:
            if not public:
                authenticate(role)
            check_path_ids(kwargs)
            _parse_input(kwargs, query, body, partial)
            result = view(**kwargs)
            if isinstance(result, (Response, tuple)):
                return result
            if status == 204:
                return Response(status=204)
            return jsonify(result), status

        wrapper.endpoint_doc = doc  # type: ignore[attr-defined]
        return wrapper

    return decorate
