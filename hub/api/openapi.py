"""OpenAPI 3 document generated from the endpoints' schemas."""

from __future__ import annotations

import re
from typing import Any

import marshmallow
from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import Blueprint, Flask, current_app

from hub.api.routing import EndpointDoc

bp = Blueprint("openapi", __name__)

ERROR = {
    "type": "object",
    "properties": {
        "error": {
            "type": "object",
            "properties": {
                "code": {"type": "string"},
                "message": {"type": "string"},
                "details": {"type": "object"},
            },
        }
    },
}


def _path(rule: str) -> str:
    return re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", r"{\1}", rule)


def _response(spec: APISpec, doc: EndpointDoc) -> dict[str, Any]:
    if doc.status == 204:
        return {"description": "Done"}
    schema: Any = {"type": "object"}
    if doc.response is not None:
        schema = doc.response
        if doc.many:
            schema = {
                "type": "object",
                "properties": {
                    "items": {"type": "array", "items": doc.response},
                    "next_cursor": {"type": "string", "nullable": True},
                },
            }
    return {"description": doc.summary, "content": {"application/json": {"schema": schema}}}


def _operation(spec: APISpec, doc: EndpointDoc, path_params: list[str]) -> dict[str, Any]:
    op: dict[str, Any] = {
        "summary": doc.summary,
        "responses": {
            str(doc.status): _response(spec, doc),
            "default": {"description": "Error", "content": {"application/json": {"schema": ERROR}}},
        },
        "parameters": [
            {
                "in": "path",
                "name": name,
                "required": True,
                "schema": {"type": "integer", "minimum": 1},
            }
            for name in path_params
        ],
    }
    if not doc.public:
        op["security"] = [{"apiKey": []}]
    if doc.query is not None:
        op["parameters"].append({"in": "query", "schema": doc.query})
    if doc.body is not None:
        body: Any = doc.body(partial=True) if doc.partial else doc.body
        op["requestBody"] = {"required": True, "content": {"application/json": {"schema": body}}}
    return op


def build_spec(app: Flask) -> dict[str, Any]:
    spec = APISpec(
        title="Mycelium Hub",
        version="0.1.0",
        openapi_version="3.0.3",
        plugins=[MarshmallowPlugin(schema_name_resolver=_schema_name)],
    )
    spec.components.security_scheme("apiKey", {"type": "http", "scheme": "bearer"})
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        view = app.view_functions.get(rule.endpoint)
        doc: EndpointDoc | None = getattr(view, "endpoint_doc", None)
        if doc is None or not rule.rule.startswith("/api"):
            continue
        methods = sorted((rule.methods or set()) - {"HEAD", "OPTIONS"})
        params = list(rule.arguments)
        spec.path(
            path=_path(rule.rule),
            operations={m.lower(): _operation(spec, doc, params) for m in methods},
        )
    return spec.to_dict()


def _schema_name(schema: Any) -> str:
    cls = schema if isinstance(schema, type) else type(schema)
    name = cls.__name__.removesuffix("Schema")
    if isinstance(schema, marshmallow.Schema) and schema.partial:
        name += "Patch"
    return name


@bp.get("/openapi.json")
def openapi() -> Any:
    spec = current_app.extensions.get("hub.openapi")
    if spec is None:
        spec = current_app.extensions["hub.openapi"] = build_spec(current_app)
    return spec
