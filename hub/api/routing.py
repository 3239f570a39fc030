"""The `endpoint` decorator: auth, body and query parsing, rendering, and OpenAPI metadata."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import marshmallow
from flask import Response, jsonify, request
from werkzeug.routing import BaseConverter

from hub.api.auth import authenticate
from hub.core.schemas import MAX_ID, unstorable
from hub.errors import BadRequest, ValidationError
from hub.plugins import CORE_ROUTE_NAMES


class PluginNameConverter(BaseConverter):
    """`<plugin:name>`: a path segment naming a plugin, never one of the core's own names,
    so `/api/integrations/status` is only ever the status route (and its Allow says so)."""

    # refused in the pattern itself: werkzeug lists the methods of every rule whose pattern
    # matches a path (OPTIONS, a 405's Allow) without ever calling to_python
    regex = rf"(?!(?:{'|'.join(sorted(CORE_ROUTE_NAMES))})$)[a-z][a-z0-9_]{{0,63}}"


@dataclass
class EndpointDoc:
    summary: str
    body: type[marshmallow.Schema] | None = None
    query: type[marshmallow.Schema] | None = None
    response: type[marshmallow.Schema] | dict[str, Any] | None = None  # dict: a JSON schema
    many: bool = False
    status: int = 200
    role: str | None = "member"
    public: bool = False
    partial: bool = False
    tags: list[str] = field(default_factory=list)
    # what the answer is when it is not JSON: "text/html" (a page), or a 302 redirect
    media_type: str = "application/json"
    redirect: bool = False
    # a body the view reads itself, documented only: a JSON schema of its multipart form
    form: dict[str, Any] | None = None
    # answers besides `status`: status -> description, or (description, JSON schema)
    responses: dict[int, Any] = field(default_factory=dict)

    def body_required(self, method: str) -> bool:
        """A change (PATCH) needs a body, as does one with a required field; else {} is sent."""
        if self.body is None:
            return False
        if method.upper() == "PATCH" or self.partial:
            return True
        return any(f.required for f in schema_of(self.body).fields.values())


@functools.cache
def schema_of(cls: type[marshmallow.Schema]) -> marshmallow.Schema:
    """The one instance of a schema class that loads every request's input.

    Making a schema deep-copies its declared fields, twice per request before (the load
    and ``body_required``); an instance keeps no state of a load (``partial`` is per
    call), so threads share it.
    """
    return cls()


def load(schema: marshmallow.Schema, data: Any, partial: bool = False) -> dict[str, Any]:
    """Validate `data`; a bad field becomes a 400 naming it."""
    try:
        return schema.load(data, partial=partial)
    except RecursionError:  # a value nested deeper than the schema could walk
        raise ValidationError(
            "Some fields are invalid.", {"_schema": ["Nested too deep."]}
        ) from None
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
    bad = {name: [why] for name, value in data.items() if (why := unstorable(value))}
    if key_fault := next(filter(None, map(unstorable, data)), None):
        bad["_schema"] = [key_fault]  # a field name that cannot be shown back as a key
    if bad:
        raise ValidationError("Some fields are invalid.", bad)
    return data


def refuse_query() -> None:
    """An endpoint that declares no query parameters refuses any, rather than ignore them."""
    if request.args:
        details = {name: ["Unknown parameter."] for name in request.args}
        raise ValidationError("This endpoint takes no query parameters.", details)


def require_body(doc: EndpointDoc) -> None:
    """What the document marks required is required: no body is not an empty change."""
    if doc.body_required(request.method) and not request.get_data(cache=True):
        message = "Send a JSON body with Content-Type: application/json."
        raise ValidationError(message, {"_schema": ["A body is required."]})


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


def parse_input(kwargs: dict[str, Any], doc: EndpointDoc, refuse_other_body: bool = True) -> None:
    """Load the declared query and body into `kwargs`; refuse an undeclared query (and, for
    the core's routes, an undeclared body)."""
    if doc.query is not None:
        kwargs["query"] = load(schema_of(doc.query), request.args.to_dict())
    else:
        refuse_query()
    if doc.body is not None:
        require_body(doc)
        kwargs["body"] = load(schema_of(doc.body), json_body(), partial=doc.partial)
    elif refuse_other_body and request.method not in ("GET", "HEAD"):
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
    redirect: bool = False,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Wrap a view: authenticate (unless public), parse `body`/`query`, render the result.
    `redirect`: the view answers a 302 to a page (a browser's step), not JSON."""
    doc = EndpointDoc(summary, body, query, response, many, status, role, public, partial)
    doc.redirect = redirect

    def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(view)
        def wrapper(**kwargs: Any) -> Any:
            if not public:
                authenticate(role)
            check_path_ids(kwargs)
            parse_input(kwargs, doc)
            result = view(**kwargs)
            if isinstance(result, (Response, tuple)):
                return result
            if status == 204:
                return Response(status=204)
            return jsonify(result), status

        wrapper.endpoint_doc = doc  # type: ignore[attr-defined]
        return wrapper

    return decorate
