"""`hub.api_route(partial=True)`: a plugin's PATCH loads only the fields sent (none
required, no defaults filled in), and the document says so."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Blueprint
from marshmallow import RAISE, Schema, fields, validate

import hub

NAME = "jotter"
bp = Blueprint("jotter", __name__)


class Jot(Schema):
    class Meta:
        unknown = RAISE

    title = fields.String(required=True, validate=validate.Length(min=1))
    pinned = fields.Boolean(load_default=False)


@bp.patch("/jots/<int:jot_id>")
@hub.api_route(body=Jot, partial=True)
def change_jot(jot_id: int, body: dict[str, Any]) -> Any:
    """Change some fields of a jot."""
    hub.current_context()
    return {"id": jot_id, "loaded": body}


class Jotter:
    @hub.hookimpl
    def register_providers(self, register: Any) -> None:
        register(hub.Provider(name=NAME, title="Jotter"))

    @hub.hookimpl
    def register_routes(self, register: Any) -> None:
        register(bp)


@pytest.fixture
def jotter(register_plugin: Any, enable_plugin: Any) -> None:
    register_plugin(Jotter(), NAME)
    enable_plugin(NAME)


def test_a_partial_body_loads_only_what_was_sent(api, jotter):
    answer = api.patch("/api/integrations/jotter/jots/7", json={"pinned": True})
    assert answer.status_code == 200, answer.get_json()
    assert answer.get_json()["loaded"] == {"pinned": True}  # no title asked, no default
    bad = api.patch("/api/integrations/jotter/jots/7", json={"title": ""})
    assert bad.status_code == 400 and "title" in bad.get_json()["error"]["details"]
    unknown = api.patch("/api/integrations/jotter/jots/7", json={"colour": "red"})
    assert unknown.status_code == 400 and "colour" in unknown.get_json()["error"]["details"]


def test_the_document_requires_no_field_of_a_partial_body(client, jotter):
    spec = client.get("/api/openapi.json").get_json()
    body = spec["paths"]["/api/integrations/jotter/jots/{jot_id}"]["patch"]["requestBody"]
    ref = body["content"]["application/json"]["schema"]["$ref"]
    schema = spec["components"]["schemas"][ref.rsplit("/", 1)[-1]]
    assert set(schema["properties"]) == {"title", "pinned"} and "required" not in schema
