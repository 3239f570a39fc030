"""Bad input on every write and list endpoint: a 4xx in the one error shape naming the bad
field, never a 500, and nothing written (no row, no event)."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from support.apitools import assert_error, event_count, fill, snapshot, warm_up

BIG_ID = 99_999_999_999  # past PostgreSQL's integer
MIB = 1024 * 1024
NO_BODY = object()


@dataclass(frozen=True)
class Bad:
    method: str
    path: str
    field: str  # what the error's details must name
    body: Any = NO_BODY  # sent as JSON
    raw: bytes | None = None  # sent as is, with content_type
    content_type: str = "application/json"
    status: int = 400
    label: str = ""

    def send(self, api: Any, ids: dict[str, Any]) -> Any:
        path = self.path.format(**ids)
        if self.raw is not None:
            return api.request(self.method, path, data=self.raw, content_type=self.content_type)
        if self.body is NO_BODY:
            return api.request(self.method, path)
        return api.request(self.method, path, json=fill(self.body, ids))


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 24 else f"{text[:12]}...({len(text)} chars)"


def field_cases(
    method: str, path: str, valid: dict[str, Any], bad: dict[str, list[Any]]
) -> Iterator[Bad]:
    """Each bad value of each field, in an otherwise valid body."""
    for field, values in bad.items():
        for value in values:
            yield Bad(
                method, path, field, {**valid, field: value}, label=f"{field}={_short(value)}"
            )


def missing_cases(
    method: str, path: str, valid: dict[str, Any], required: list[str]
) -> Iterator[Bad]:
    for field in required:
        body = {k: v for k, v in valid.items() if k != field}
        yield Bad(method, path, field, body, label=f"missing {field}")


def body_shape_cases(method: str, path: str) -> Iterator[Bad]:
    """What any endpoint that takes (or refuses) a body must reject before reading fields."""
    yield Bad(method, path, "bogus", {"bogus": 1}, label="unknown field")
    yield Bad(
        method,
        path,
        "_schema",
        raw=b"name=x",
        content_type="application/x-www-form-urlencoded",
        label="form body",
    )
    yield Bad(method, path, "_schema", raw=b"hello", content_type="text/plain", label="text body")
    yield Bad(method, path, "_schema", raw=b'{"name": ', label="broken JSON")
    yield Bad(method, path, "_schema", raw=b"\xff\xfe\x00garbage", label="not UTF-8")
    yield Bad(method, path, "_schema", raw=b"[" * 50_000 + b"]" * 50_000, label="deep nesting")
    yield Bad(method, path, "_schema", [{"name": "x"}], label="JSON array")
    yield Bad(method, path, "_schema", raw=b"null", label="JSON null")
    yield Bad(method, path, "_schema", raw=b"42", label="JSON number")
    huge = json.dumps({"name": "x" * MIB}).encode()
    yield Bad(method, path, "_schema", raw=huge, status=413, label="body over 1 MiB")


def path_id_cases(method: str, path: str, param: str, placeholder: str) -> Iterator[Bad]:
    for value in (BIG_ID, 2**31, 0):
        yield Bad(method, path.replace(placeholder, str(value)), param, label=f"{param}={value}")


TEXT_BAD = [42, True, ["a"], {"a": 1}, "a\x00b", "\ud800"]
NAME_BAD = [None, "", "   ", *TEXT_BAD]
ID_BAD = [None, "1", 1.5, True, 0, -1, BIG_ID, [1]]
DATE_BAD = [
    "tomorrow",
    "2024-13-01T00:00:00",
    "2024-02-30T10:00:00",
    20240101,
    "9999-12-31T23:59:59-12:00",
    "0001-01-01T00:00:00",
]


def org_cases() -> Iterator[Bad]:
    yield from body_shape_cases("PATCH", "/api/org")
    yield from field_cases(
        "PATCH",
        "/api/org",
        {},
        {
            "name": [*NAME_BAD, "x" * 201],
            "timezone": ["Mars/Olympus", "", 5, None, "europe/london"],
            "company_name": [*TEXT_BAD, "x" * 201],
            "logo_url": [
                "not a url",
                "ftp://cdn.example/logo.png",
                "javascript:alert(1)",
                "https://cdn.example/" + "x" * 2048,
                5,
            ],
            "primary_color": ["red", "#12345", "#1234567", "#GGGGGG", 123],
            "support_email": ["nope", "a@" + "b" * 250 + ".example", 5],
            "due_soon_hours": [0, -1, "5", 1.5, 10**12, True],
        },
    )


def user_cases() -> Iterator[Bad]:
    valid = {"email": "new@acme.example", "name": "New"}
    bad = {
        "email": [
            "not-an-email",
            "a@b",
            42,
            None,
            "x" * 250 + "@acme.example",
            "a\x00@acme.example",
        ],
        "name": [*NAME_BAD, "x" * 201],
        "role": ["owner", "", 1, None],
    }
    yield from body_shape_cases("POST", "/api/users")
    yield from missing_cases("POST", "/api/users", valid, ["email", "name"])
    yield from field_cases("POST", "/api/users", valid, bad)
    yield from body_shape_cases("PATCH", "/api/users/{user}")
    yield from field_cases("PATCH", "/api/users/{user}", {}, bad)
    yield from body_shape_cases("DELETE", "/api/users/{user}")
    for method in ("GET", "PATCH", "DELETE"):
        yield from path_id_cases(method, "/api/users/{user}", "user_id", "{user}")


def service_type_cases() -> Iterator[Bad]:
    yield from body_shape_cases("POST", "/api/service-types")
    yield from missing_cases("POST", "/api/service-types", {"name": "Web"}, ["name"])
    yield from field_cases("POST", "/api/service-types", {}, {"name": [*NAME_BAD, "x" * 101]})


def client_cases() -> Iterator[Bad]:
    bad = {
        "name": [*NAME_BAD, "x" * 201],
        "contact_person": [*TEXT_BAD, "x" * 201],
        "contact_email": ["nope", 5, "x" * 250 + "@globex.example"],
        "notes": [*TEXT_BAD, "x" * 10_001],
        "service_type_ids": [
            "{service_type}",
            ["1"],
            [0],
            [BIG_ID],
            [True],
            [None],
            [424242],
            ["{service_type}"] * 51,
        ],
    }
    yield from body_shape_cases("POST", "/api/clients")
    yield from missing_cases("POST", "/api/clients", {"name": "New"}, ["name"])
    yield from field_cases("POST", "/api/clients", {"name": "New"}, bad)
    yield from body_shape_cases("PATCH", "/api/clients/{client}")
    yield from field_cases("PATCH", "/api/clients/{client}", {}, bad)
    yield Bad(
        "PATCH", "/api/clients/{client}", "name", {"name": "Taken"}, status=409, label="name taken"
    )
    yield Bad("POST", "/api/clients", "name", {"name": "Taken"}, status=409, label="name taken")
    yield from body_shape_cases("DELETE", "/api/clients/{client}")
    for method in ("GET", "PATCH", "DELETE"):
        yield from path_id_cases(method, "/api/clients/{client}", "client_id", "{client}")


def deliverable_cases() -> Iterator[Bad]:
    valid = {"client_id": "{client}", "title": "New"}
    bad = {
        "client_id": [*ID_BAD, 424242],
        "service_type_id": [*ID_BAD[1:], 424242],
        "assignee_id": [*ID_BAD[1:], 424242],
        "title": [*NAME_BAD, "x" * 301],
        "description": [*TEXT_BAD, "x" * 10_001],
        "due_at": DATE_BAD,
        "priority": ["critical", "", None, 1],
        "status": ["done", "completed", None, 1],
        "client_visible": ["maybe", None, [True]],
    }
    yield from body_shape_cases("POST", "/api/deliverables")
    yield from missing_cases("POST", "/api/deliverables", valid, ["client_id", "title"])
    yield from field_cases("POST", "/api/deliverables", valid, bad)
    item = "/api/deliverables/{deliverable}"
    yield from body_shape_cases("PATCH", item)
    yield from field_cases("PATCH", item, {}, bad)
    yield from body_shape_cases("POST", item + "/complete")
    yield from body_shape_cases("DELETE", item)
    for method, path in (
        ("GET", item),
        ("PATCH", item),
        ("DELETE", item),
        ("POST", item + "/complete"),
    ):
        yield from path_id_cases(method, path, "deliverable_id", "{deliverable}")


def _cursor(payload: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")


BAD_CURSORS = [
    "garbage!!",
    "x" * 201,
    _cursor({"k": "1"}),
    _cursor({"k": 2**40}),
    _cursor({"k": -1}),
    _cursor({"k": True}),
    _cursor({"x": 1}),
    _cursor([1]),
    "bm90IGpzb24",
    "%00",
]


def list_cases() -> Iterator[Bad]:
    lists = ["/api/users", "/api/service-types", "/api/clients", "/api/deliverables", "/api/events"]
    for path in lists:
        for limit in ("abc", "0", "201", "-1", "1.5", ""):
            yield Bad("GET", f"{path}?limit={limit}", "limit", label=f"limit={limit}")
        for cursor in BAD_CURSORS:
            yield Bad("GET", f"{path}?cursor={cursor}", "cursor", label=f"cursor={_short(cursor)}")
        yield Bad("GET", f"{path}?bogus=1", "bogus", label="unknown parameter")
    filters = {
        "client_id": ["abc", str(BIG_ID), "0", "1.5"],
        "assignee_id": ["abc", str(BIG_ID)],
        "status": ["done", ""],
        "due_before": ["yesterday", "2024-02-30T00:00:00", "9999-12-31T23:59:59-12:00"],
        "due_after": ["2024-13-01", "1"],
    }
    for field, values in filters.items():
        for value in values:
            yield Bad("GET", f"/api/deliverables?{field}={value}", field, label=f"{field}={value}")
    yield Bad("GET", "/api/events?type=", "type", label="type empty")
    yield Bad("GET", f"/api/events?type={'x' * 101}", "type", label="type too long")
    yield Bad("GET", "/api/events?type=a%00b", "type", label="type with NUL")


CASES = [
    pytest.param(case, id=f"{case.method} {case.path} {case.label}")
    for make in (
        org_cases,
        user_cases,
        service_type_cases,
        client_cases,
        deliverable_cases,
        list_cases,
    )
    for case in make()
]


@pytest.fixture
def ids(api, org) -> dict[str, Any]:
    service_type = api.post("/api/service-types", json={"name": "Branding"}).get_json()
    api.post("/api/clients", json={"name": "Taken"})
    client = api.post("/api/clients", json={"name": "Globex"}).get_json()
    deliverable = api.post("/api/deliverables", json={"client_id": client["id"], "title": "Logo"})
    user = api.post("/api/users", json={"email": "u@acme.example", "name": "U"}).get_json()
    return {
        "service_type": service_type["id"],
        "client": client["id"],
        "deliverable": deliverable.get_json()["id"],
        "user": user["id"],
    }


@pytest.mark.parametrize("case", CASES)
def test_bad_input_is_a_clear_4xx_that_writes_nothing(app, api, ids, case):
    warm_up(api)
    before, events_before = snapshot(app), event_count(app)
    response = case.send(api, ids)
    assert_error(response, case.status, case.field)
    assert event_count(app) == events_before
    assert snapshot(app) == before


# ----- the other side of each limit: the longest valid value is stored whole -----

LONGEST_EMAIL = "a" * 64 + "@" + "b" * 63 + "." + "c" * 63 + "." + "d" * 57 + ".com"

LONGEST = [
    (
        "PATCH",
        "/api/org",
        {
            "name": "n" * 200,
            "company_name": "c" * 200,
            "primary_color": "#abcdef",
            "logo_url": "https://cdn.example/" + "x" * (2048 - 20),
            "support_email": LONGEST_EMAIL,
        },
    ),
    ("POST", "/api/users", {"email": LONGEST_EMAIL, "name": "n" * 200}),
    ("POST", "/api/service-types", {"name": "s" * 100}),
    (
        "POST",
        "/api/clients",
        {
            "name": "n" * 200,
            "contact_person": "p" * 200,
            "contact_email": LONGEST_EMAIL,
            "notes": "é" * 10_000,
        },
    ),
    (
        "POST",
        "/api/deliverables",
        {"client_id": "{client}", "title": "t" * 300, "description": "d" * 10_000},
    ),
]


@pytest.mark.parametrize(
    ("method", "path", "body"), LONGEST, ids=[f"{m} {p}" for m, p, _ in LONGEST]
)
def test_values_at_the_maximum_length_are_accepted_whole(api, ids, method, path, body):
    assert len(LONGEST_EMAIL) == 254
    response = api.request(method, path, json=fill(body, ids))
    assert response.status_code in (200, 201), response.get_json()
    stored = response.get_json()
    assert {k: stored[k] for k in body if k != "client_id"} == {
        k: v for k, v in body.items() if k != "client_id"
    }
