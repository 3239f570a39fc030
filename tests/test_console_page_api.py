"""`register_console_pages`: a plugin's own console page, described by GET /api/plugins with
the fields of its form drawn from the route's declared body schema."""

from __future__ import annotations

from typing import Any

import marshmallow
import pytest
from flask import Blueprint, jsonify

from hub import ConsolePage, Provider, api_route, hookimpl
from hub.errors import ConfigError

bp = Blueprint("jotter", __name__)


class JotIn(marshmallow.Schema):
    text = marshmallow.fields.String(required=True, metadata={"description": "What to jot."})
    level = marshmallow.fields.String(
        load_default="low", validate=marshmallow.validate.OneOf(("low", "high"))
    )


@bp.get("/jots")
@api_route(response=JotIn, many=True)
def jots() -> Any:
    """Jots."""
    return jsonify({"items": [], "next_cursor": None})


@bp.post("/jots")
@api_route(body=JotIn, response=JotIn, status=201)
def add_jot(body: dict[str, Any]) -> Any:
    """Add a jot."""
    return jsonify(body), 201


class Jotter:
    def __init__(self, *pages: Any) -> None:
        self.pages = pages

    @hookimpl
    def register_providers(self, register: Any) -> None:
        register(Provider(name="jotter", title="Jotter"))

    @hookimpl
    def register_routes(self, register: Any) -> None:
        register(bp)

    @hookimpl
    def register_console_pages(self, register: Any) -> None:
        for page in self.pages:
            register(page)


PAGE = ConsolePage(
    name="jots",
    title="Jots",
    description="Short notes.",
    source="jots",
    columns=(("text", "Text"),),
    form="POST jots",
    form_title="Jot",
)


def test_hook_register_console_pages(api, register_plugin):
    register_plugin(Jotter(PAGE), "jotter")
    described = {p["name"]: p for p in api.get("/api/plugins").json["items"]}
    (page,) = described["jotter"]["console_pages"]
    assert page["source"] == "/api/integrations/jotter/jots"
    assert page["columns"] == [{"field": "text", "label": "Text"}]
    form = page["form"]
    assert (form["method"], form["path"], form["title"]) == (
        "POST",
        "/api/integrations/jotter/jots",
        "Jot",
    )
    fields = {field["name"]: field for field in form["fields"]}
    assert fields["text"]["required"] and fields["text"]["description"] == "What to jot."
    assert fields["level"]["enum"] == ["low", "high"] and fields["level"]["default"] == "low"
    assert described["gcal"]["console_pages"] == []


def test_slack_declares_its_user_mapping_page(api):
    slack = next(p for p in api.get("/api/plugins").json["items"] if p["name"] == "slack")
    (page,) = slack["console_pages"]
    assert page["source"] == "/api/integrations/slack/users" and page["form"] is None


@pytest.mark.parametrize(
    ("page", "why"),
    [
        (ConsolePage(name="bad name", title="x", source="jots"), "its name"),
        (ConsolePage(name="jots", title="", source="jots"), "title"),
        (ConsolePage(name="jots", title="Jots", form="DELETE jots"), "its form"),
        (ConsolePage(name="jots", title="Jots"), "a source, a form"),
        ("not a page", "not a hub.ConsolePage"),
    ],
)
def test_a_malformed_page_stops_start_up_naming_it(app, register_plugin, page, why):
    with pytest.raises(ConfigError, match=why) as raised:
        register_plugin(Jotter(page), "jotter")
    assert "jotter" in str(raised.value)


def test_every_installed_plugins_pages_point_at_its_declared_routes(app, api):
    """A page's table reads a GET route and its form posts to a route with a body schema,
    each declared with hub.api_route, so the console and the OpenAPI document agree."""
    paths = api.get("/api/openapi.json").json["paths"]
    pages = [
        (plugin["name"], page)
        for plugin in api.get("/api/plugins").json["items"]
        for page in plugin["console_pages"]
    ]
    assert {name for name, _ in pages} >= {"slack", "smtp", "zapier"}
    for name, page in pages:
        if page["source"]:
            assert "get" in paths.get(page["source"], {}), (name, page["source"])
        if page["form"]:
            operation = paths[page["form"]["path"]][page["form"]["method"].lower()]
            assert "requestBody" in operation and page["form"]["fields"], (name, page["name"])
