"""`register_console_pages`: a plugin's own console page, described by GET /api/plugins with
the fields of its form drawn from the route's declared body schema."""

from __future__ import annotations

import re
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


@bp.get("/jots/<level>")
@api_route(response=JotIn)
def one_jot(level: str) -> Any:
    """The jot of a level."""
    return jsonify({"text": f"a {level} jot", "level": level})


@bp.put("/jots/<level>")
@api_route(body=JotIn, response=JotIn)
def put_jot(level: str, body: dict[str, Any]) -> Any:
    """Replace the jot of a level."""
    return jsonify(body)


@bp.post("/jots/<level>/preview")
@api_route(body=JotIn)
def preview_jot(level: str, body: dict[str, Any]) -> Any:
    """How a jot would look."""
    return jsonify({"subject": body["text"], "html": f"<p>{body['text']}</p>", "text": ""})


EDITOR = ConsolePage(
    name="levels",
    title="Jots by level",
    source="jots",
    key="level",
    item="jots/<level>",
    form="PUT jots/<level>",
    preview="POST jots/<level>/preview",
)


def test_a_page_may_pick_an_item_to_edit_with_a_preview(api, register_plugin):
    register_plugin(Jotter(EDITOR), "jotter")
    described = {p["name"]: p for p in api.get("/api/plugins").json["items"]}
    (page,) = described["jotter"]["console_pages"]
    assert page["key"] == "level"
    assert page["item"] == "/api/integrations/jotter/jots/<level>"
    assert page["preview"] == {
        "method": "POST",
        "path": "/api/integrations/jotter/jots/<level>/preview",
    }
    assert page["form"]["path"] == "/api/integrations/jotter/jots/<level>"
    assert {f["name"] for f in page["form"]["fields"]} == {"text", "level"}
    assert described["jotter"]["console_pages"][0]["source"].endswith("/jots")


def test_a_length_limited_field_says_its_limit(api):
    smtp = next(p for p in api.get("/api/plugins").json["items"] if p["name"] == "smtp")
    page = next(page for page in smtp["console_pages"] if page["name"] == "templates")
    fields = {field["name"]: field for field in page["form"]["fields"]}
    assert fields["html"]["max_length"] == 100_000 and fields["subject"]["max_length"] == 1000
    assert page["key"] == "type" and page["preview"]["method"] == "POST"


def test_slack_declares_its_user_mapping_page(api):
    slack = next(p for p in api.get("/api/plugins").json["items"] if p["name"] == "slack")
    (page,) = slack["console_pages"]
    assert page["source"] == "/api/integrations/slack/users" and page["form"] is None


def test_dropbox_declares_its_files_page(api):
    dropbox = next(p for p in api.get("/api/plugins").json["items"] if p["name"] == "dropbox")
    (page,) = dropbox["console_pages"]
    assert page["source"] == "/api/integrations/dropbox/files" and page["form"] is None
    assert [c["field"] for c in page["columns"]][:3] == ["name", "client_id", "path"]


@pytest.mark.parametrize(
    ("page", "why"),
    [
        (ConsolePage(name="bad name", title="x", source="jots"), "its name"),
        (ConsolePage(name="jots", title="", source="jots"), "title"),
        (ConsolePage(name="jots", title="Jots", form="DELETE jots"), "its form"),
        (ConsolePage(name="jots", title="Jots"), "a source, a form"),
        (
            ConsolePage(name="j", title="J", source="jots", form="POST jots", preview="GET x"),
            "its preview",
        ),
        (ConsolePage(name="j", title="J", source="jots", preview="POST x"), "needs a form"),
        (ConsolePage(name="j", title="J", source="jots", item="jots/1"), "needs a form"),
        (ConsolePage(name="j", title="J", source="jots", form="POST jots/<level>"), "set key"),
        (ConsolePage(name="j", title="J", form="POST jots/<level>", key="level"), "needs a source"),
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
    assert {name for name, _ in pages} >= {"dropbox", "slack", "smtp", "zapier"}
    for name, page in pages:
        if page["source"]:
            assert "get" in paths.get(page["source"], {}), (name, page["source"])
        if page["form"]:
            operation = _operation(paths, page["form"]["path"], page["form"]["method"])
            assert "requestBody" in operation and page["form"]["fields"], (name, page["name"])
        if page["item"]:
            assert _operation(paths, page["item"], "GET"), (name, page["item"])
        if page["preview"]:
            operation = _operation(paths, page["preview"]["path"], "POST")
            assert "requestBody" in operation, (name, page["preview"])


def _operation(paths: dict[str, Any], path: str, method: str) -> dict[str, Any]:
    """The operation of the documented path a page's path (``<key>`` for ``{name}``) names."""
    pattern = re.compile(re.sub(r"<[^<>]*>", "{[^}]+}", re.escape(path).replace("\\<", "<")))
    found = [
        operations for documented, operations in paths.items() if pattern.fullmatch(documented)
    ]
    assert len(found) == 1, (path, found)
    return found[0][method.lower()]
