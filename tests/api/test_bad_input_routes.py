"""The shared bad-input table, run against every route of the app (the core's and every
installed plugin's, read from the URL map and the routes' declarations): each case is a 4xx
in the one error shape naming the bad field, and writes nothing. A new route is covered
without a new case; a new path parameter needs only a value in PATH_VALUES."""

from __future__ import annotations

import base64
import io
import json
import re
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import marshmallow
import pytest
from support.apitools import assert_error, event_count, snapshot, warm_up

from hub.api.routing import EndpointDoc
from hub.app import create_app

MIB = 1024 * 1024
# A value for each path parameter the routes use; ints are checked before any lookup.
PATH_VALUES = {"name": "zapier", "type_name": "client_welcome", "event": "client.created"}


@dataclass(frozen=True)
class Route:
    method: str
    rule: str
    doc: EndpointDoc

    def path(self, **override: Any) -> str:
        path = self.rule
        for converter, name in _params(self.rule):
            value = override.get(name, 1 if converter == "int" else PATH_VALUES.get(name, "x"))
            path = path.replace(f"<{converter}:{name}>" if converter else f"<{name}>", str(value))
        return path


def _params(rule: str) -> list[tuple[str, str]]:
    return re.findall(r"<(?:(\w+)(?:\([^)]*\))?:)?(\w+)>", rule)


def _routes() -> list[Route]:
    """Every /api route of an app with every installed plugin, with its declaration."""
    key = base64.b64encode(bytes(32)).decode()
    with tempfile.TemporaryDirectory(prefix="hub-routes-") as var:
        app = create_app(
            {
                "HUB_DATABASE_URL": f"sqlite:///{var}/unused.db",
                "REDIS_URL": "redis://127.0.0.1:1/0",  # never connected: only the URL map
                "HUB_VAR_DIR": var,
                "HUB_SECRET_KEY": "routes",
                "HUB_ENCRYPTION_KEYS": f"routes:{key}",
            }
        )
    found = []
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        doc = getattr(app.view_functions[rule.endpoint], "endpoint_doc", None)
        if doc is None or not rule.rule.startswith("/api"):
            continue
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            found.append(Route(method, rule.rule, doc))
    return found


@dataclass(frozen=True)
class Case:
    route: Route
    label: str
    field: str
    status: int = 400
    path: str | None = None
    query: str = ""
    raw: bytes | None = None
    content_type: str = "application/json"
    chunked: bool = False

    def send(self, api: Any) -> Any:
        url = (self.path or self.route.path()) + self.query
        kwargs: dict[str, Any] = {}
        if self.raw is not None:
            kwargs = {"data": self.raw, "content_type": self.content_type}
        if self.chunked:
            kwargs = {
                "input_stream": io.BytesIO(self.raw or b""),
                "content_type": self.content_type,
                "headers": {"Transfer-Encoding": "chunked"},
                "environ_overrides": {"wsgi.input_terminated": True},
            }
        return api.request(self.route.method, url, **kwargs)


def _body_fields(doc: EndpointDoc) -> dict[str, marshmallow.fields.Field]:
    return doc.body().fields if doc.body is not None else {}


def _field_cases(route: Route) -> Iterator[Case]:
    """NUL and lone surrogates in each text field, a huge number in each integer field."""
    for name, field in _body_fields(route.doc).items():
        values: list[Any] = []
        if isinstance(field, marshmallow.fields.String | marshmallow.fields.List):
            values = ["a\x00b", "\ud800"]
        elif isinstance(field, marshmallow.fields.Integer):
            values = [2**70]
        elif isinstance(field, marshmallow.fields.Dict):
            values = [{"k": "a\x00b"}, {"\ud800": 1}]
        elif isinstance(field, marshmallow.fields.Boolean):
            values = [0, "true"]
        for value in values:
            raw = json.dumps({name: value}).encode()
            yield Case(route, f"{name}={value!r}", name, raw=raw)


def _body_cases(route: Route) -> Iterator[Case]:
    """What any route that reads a JSON body must refuse before looking at its fields."""
    for label, field, raw in [
        ("broken JSON", "_schema", b'{"a": '),
        ("not UTF-8", "_schema", b"\xff\xfe\x00garbage"),
        ("JSON array", "_schema", b"[1]"),
        ("JSON null", "_schema", b"null"),
        ("deep nesting 50000", "_schema", b"[" * 50_000 + b"]" * 50_000),
        ("deep nesting 900 in a field", "x", b'{"x": ' + b"[" * 900 + b"]" * 900 + b"}"),
        ("deep objects 5000", "_schema", b'{"x": ' + b'{"a":' * 5000 + b"1" + b"}" * 5001),
        ("NUL in a field name", "_schema", b'{"a\\u0000b": 1}'),
        ("lone surrogate in a field name", "_schema", b'{"\\ud800": 1}'),
    ]:
        yield Case(route, label, field, raw=raw)
    huge = json.dumps({"x": "y" * MIB}).encode()
    yield Case(route, "body over 1 MiB", "_schema", status=413, raw=huge)
    yield Case(route, "chunked body over 1 MiB", "_schema", status=413, raw=huge, chunked=True)
    yield Case(route, "text body", "_schema", raw=b"hello", content_type="text/plain")
    yield from _field_cases(route)


def _takes_extra_parameters(doc: EndpointDoc) -> bool:
    """A route may declare that it ignores extra parameters (a provider's redirect adds its
    own); every other route refuses them."""
    meta = getattr(doc.query, "Meta", None) if doc.query is not None else None
    return getattr(meta, "unknown", None) == marshmallow.EXCLUDE


def _cases(route: Route) -> Iterator[Case]:
    if not _takes_extra_parameters(route.doc):
        yield Case(route, "unknown query parameter", "bogus", query="?bogus=1")
    for converter, name in _params(route.rule):
        if converter == "int":
            for value in (0, 2**31, 99_999_999_999):
                yield Case(route, f"{name}={value}", name, path=route.path(**{name: value}))
    if route.doc.body is not None:
        yield from _body_cases(route)
    if route.doc.body_required(route.method):
        yield Case(route, "no body", "_schema", raw=b"")


ROUTES = _routes()
CASES = [
    pytest.param(case, id=f"{case.route.method} {case.route.rule} {case.label}")
    for route in ROUTES
    for case in _cases(route)
]


def test_the_table_reaches_plugin_routes_and_their_bodies():
    rules = {route.rule for route in ROUTES}
    assert {"/api/integrations/smtp/emails", "/api/integrations/zapier/hooks"} <= rules
    with_bodies = {r.rule for r in ROUTES if r.doc.body is not None}
    assert "/api/integrations/zapier/hooks" in with_bodies


@pytest.mark.parametrize("case", CASES)
def test_every_route_refuses_bad_input_with_a_4xx_naming_the_field(app, api, case):
    warm_up(api)
    before, events_before = snapshot(app), event_count(app)
    response = case.send(api)
    assert_error(response, case.status, case.field)
    assert event_count(app) == events_before
    assert snapshot(app) == before
