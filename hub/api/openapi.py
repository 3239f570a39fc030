"""OpenAPI 3 document generated from the endpoints' schemas."""

from __future__ import annotations

import re
from typing import Any

import marshmallow
from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import Blueprint, Flask, current_app

from hub.api.routing import EndpointDoc, endpoint
from hub.core.schemas import MAX_ID
from hub.plugins import CORE_ROUTE_NAMES, get_plugins

bp = Blueprint("openapi", __name__)

ERROR = {
    "type": "object",
    "properties": {
        "error": {
            "type": "object",
            "properties": {
                "code": {"type": "string"},
                "message": {"type": "string"},
                "details": {
                    "type": "object",
                    "description": "Field name (or `_schema` for the whole body) to messages.",
                },
            },
            "required": ["code", "message", "details"],
        }
    },
    "required": ["error"],
}
ERROR_REF = {"$ref": "#/components/schemas/Error"}


_PARAM = re.compile(r"<(?:(\w+)(?:\([^)]*\))?:)?(\w+)>")
_INT = {"type": "integer", "minimum": 1, "maximum": MAX_ID}


def _path(rule: str) -> str:
    return _PARAM.sub(r"{\2}", rule)


PAGE = {"text/html": {"schema": {"type": "string"}}}
REDIRECT = {
    "description": "A redirect to the next page",
    "headers": {"Location": {"schema": {"type": "string"}, "required": True}},
    "content": PAGE,
}
ERRORS = {"application/json": {"schema": ERROR_REF}}
CONSOLE_SESSION = {
    "type": "apiKey",
    "in": "cookie",
    "name": "hub_session",
    "description": "The admin console's session (POST /api/session); a change made with it "
    "must also send the session's CSRF token in the X-CSRF-Token header. A request with an "
    "Authorization header is judged by that key alone.",
}


def _responses(doc: EndpointDoc) -> dict[str, Any]:
    if doc.redirect:
        return {"302": REDIRECT, "default": {"description": "Error", "content": ERRORS}}
    errors = {**ERRORS, **PAGE} if doc.media_type == "text/html" else ERRORS
    answers = {str(doc.status): _response(doc)}
    for status, answer in sorted(doc.responses.items()):
        answers[str(status)] = _declared(status, answer)
    return {**answers, "default": {"description": "Error", "content": errors}}


def _declared(status: int, answer: Any) -> dict[str, Any]:
    """A route's further answer: a description (an error status: the error body), or a
    description and the schema of its JSON body."""
    if isinstance(answer, str):
        if status >= 400:
            return {"description": answer, "content": ERRORS}
        return {"description": answer}
    description, schema = answer
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _response(doc: EndpointDoc) -> dict[str, Any]:
    if doc.status == 204:
        return {"description": "Done"}
    if doc.media_type == "text/html":
        return {"description": doc.summary, "content": PAGE}
    if doc.media_type != "application/json":  # plain text, say: the body as it is
        return {
            "description": doc.summary,
            "content": {doc.media_type: {"schema": {"type": "string"}}},
        }
    schema: Any = {"type": "object"}
    if isinstance(doc.response, dict):  # a plain JSON schema (a top-level array, say)
        schema = doc.response
    elif doc.response is not None:
        schema = doc.response
        if doc.many:
            schema = {
                "type": "object",
                "properties": {
                    "items": {"type": "array", "items": doc.response},
                    "next_cursor": {"type": "string", "nullable": True},
                },
                "required": ["items", "next_cursor"],
            }
    return {"description": doc.summary, "content": {"application/json": {"schema": schema}}}


def _path_parameters(rule: str, plugin_names: list[str]) -> list[dict[str, Any]]:
    """One parameter per `<converter:name>` in the rule: ids are integers, a plugin's name
    one of the installed plugins' (never a core name such as `status`), the rest strings."""
    schemas: dict[str, dict[str, Any]] = {
        "int": dict(_INT),
        "plugin": {"type": "string", "enum": plugin_names},
    }
    return [
        {
            "in": "path",
            "name": name,
            "required": True,
            "schema": schemas.get(converter, {"type": "string"}),
        }
        for converter, name in _PARAM.findall(rule)
    ]


def _operation(doc: EndpointDoc, method: str, rule: str, plugin_names: list[str]) -> dict[str, Any]:
    op: dict[str, Any] = {
        "summary": doc.summary,
        "responses": _responses(doc),
        "parameters": _path_parameters(rule, plugin_names),
    }
    if not doc.public:  # either a bearer key or the console's session cookie
        op["security"] = [{"apiKey": []}, {"consoleSession": []}]
    if doc.query is not None:
        op["parameters"].append({"in": "query", "schema": doc.query})
    if doc.body is not None:
        body: Any = doc.body(partial=True) if doc.partial else doc.body
        op["requestBody"] = {
            "required": doc.body_required(method),
            "content": {"application/json": {"schema": body}},
        }
    elif doc.form is not None:  # read by the view itself, as a stream
        required = bool(doc.form.get("required"))
        op["requestBody"] = {
            "required": required,
            "content": {"multipart/form-data": {"schema": doc.form}},
        }
    return op


def build_spec(app: Flask) -> dict[str, Any]:
    spec = APISpec(
        title="Mycelium Hub",
        version="0.1.0",
        openapi_version="3.0.3",
        plugins=[MarshmallowPlugin(schema_name_resolver=_schema_name)],
        servers=[{"url": app.config["HUB_APP_URL"]}],
    )
    spec.components.security_scheme("apiKey", {"type": "http", "scheme": "bearer"})
    spec.components.security_scheme("consoleSession", CONSOLE_SESSION)
    spec.components.schema("Error", ERROR)
    names = sorted(set(get_plugins(app).providers) - CORE_ROUTE_NAMES)
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        view = app.view_functions.get(rule.endpoint)
        doc: EndpointDoc | None = getattr(view, "endpoint_doc", None)
        if doc is None or not rule.rule.startswith("/api"):
            continue
        methods = sorted((rule.methods or set()) - {"HEAD", "OPTIONS"})
        operations = {m.lower(): _operation(doc, m, rule.rule, names) for m in methods}
        for method, op in operations.items():
            op["operationId"] = rule.endpoint.rsplit(".", 1)[-1]
            op["tags"] = doc.tags or [rule.endpoint.split(".")[-2]]
            if doc.tags:  # a plugin's route (tagged with its name): an id from its path
                tail = rule.rule.removeprefix(f"/api/integrations/{doc.tags[0]}")
                op["operationId"] = "_".join([doc.tags[0], method, *re.findall(r"\w+", tail)])
        spec.path(path=_path(rule.rule), operations=operations)
    return spec.to_dict()


def _schema_name(schema: Any) -> str:
    cls = schema if isinstance(schema, type) else type(schema)
    name = cls.__name__.removesuffix("Schema")
    if isinstance(schema, marshmallow.Schema) and schema.partial:
        name += "Patch"
    return name


@bp.get("/openapi.json")
@endpoint("This OpenAPI 3 document", public=True)
def openapi() -> Any:
    spec = current_app.extensions.get("hub.openapi")
    if spec is None:
        spec = current_app.extensions["hub.openapi"] = build_spec(current_app)
    return spec
