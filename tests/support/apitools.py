"""Helpers shared by the API tests: database snapshots, error-shape checks, page walks,
generated clients."""

from __future__ import annotations

import json
import random
from typing import Any

from flask import Flask
from sqlalchemy import func, select

from hub.core.models import Base, Event
from hub.extensions import db
from hub.testing import ApiClient


def snapshot(app: Flask) -> dict[str, list[str]]:
    """Every row of every table, to prove a request changed nothing.

    Plain SQL, as the driver returns the rows: each test's engine is new, and compiling a
    SELECT per table for every snapshot was a third of a bad-input test's time. On
    PostgreSQL every table comes in one round trip, each as JSON."""
    names = [table.name for table in Base.metadata.sorted_tables]
    with app.app_context(), db.engine.connect() as conn:
        quote = conn.dialect.identifier_preparer.quote
        if conn.dialect.name == "postgresql":
            tables = ", ".join(f"(SELECT json_agg(t)::text FROM {quote(n)} t)" for n in names)
            found = conn.exec_driver_sql(f"SELECT {tables}").one()
            return {
                name: sorted(json.dumps(row, sort_keys=True) for row in json.loads(rows or "[]"))
                for name, rows in zip(names, found, strict=True)
            }
        return {
            name: sorted(
                repr(tuple(row)) for row in conn.exec_driver_sql(f"SELECT * FROM {quote(name)}")
            )
            for name in names
        }


def event_count(app: Flask, org_id: int | None = None) -> int:
    with app.app_context():
        stmt = select(func.count()).select_from(Event)
        if org_id is not None:
            stmt = stmt.where(Event.org_id == org_id)
        return db.session.scalar(stmt) or 0


def assert_error(response: Any, status: int, field: str | None = None) -> dict[str, Any]:
    """The response is the one error shape, with `status`, naming `field` if given."""
    assert response.status_code == status, (response.status_code, response.get_data(True))
    body = response.get_json()
    assert set(body) == {"error"}, body
    error = body["error"]
    assert set(error) == {"code", "message", "details"}, error
    assert isinstance(error["code"], str) and error["code"]
    assert isinstance(error["message"], str) and error["message"]
    assert isinstance(error["details"], dict)
    if field is not None:
        assert field in error["details"], error
    return error


def walk_pages(
    api: ApiClient, path: str, limit: int = 2, cursor: str | None = None
) -> tuple[list[dict[str, Any]], int]:
    """Every item of a list endpoint from `cursor` on, following next_cursor; and the page count."""
    items: list[dict[str, Any]] = []
    separator = "&" if "?" in path else "?"
    url = f"{path}{separator}limit={limit}" + (f"&cursor={cursor}" if cursor else "")
    pages = 0
    while True:
        response = api.get(url)
        assert response.status_code == 200, response.get_json()
        body = response.get_json()
        assert set(body) == {"items", "next_cursor"}
        assert len(body["items"]) <= limit
        items.extend(body["items"])
        pages += 1
        if body["next_cursor"] is None:
            return items, pages
        assert pages < 1000, "next_cursor never ends"
        url = f"{path}{separator}limit={limit}&cursor={body['next_cursor']}"


def fill(value: Any, ids: dict[str, Any]) -> Any:
    """`value` with every "{name}" string (inside dicts and lists too) replaced by ids[name]."""
    if isinstance(value, str) and value.startswith("{") and value.endswith("}"):
        return ids[value[1:-1]]
    if isinstance(value, list):
        return [fill(item, ids) for item in value]
    if isinstance(value, dict):
        return {key: fill(item, ids) for key, item in value.items()}
    return value


def warm_up(*apis: ApiClient) -> None:
    """Record each key's use now, so later requests do not touch api_keys.last_used_at."""
    for client in apis:
        assert client.get("/api/me").status_code == 200


# texts a generated client's fields draw from: accents, typographic quotes, control
# characters, emoji and a long one (the first four also name clients)
CLIENT_TEXTS = ["plain", "Zoë & Søn — “quoted”", "line\nbreak\ttab", "emoji 🎬", "a" * 200]


def random_client(
    rng: random.Random, number: int, type_ids: list[int], empty: bool = False
) -> dict[str, Any]:
    """A POST /api/clients body with random optional fields (None, or one of CLIENT_TEXTS,
    or with `empty` an empty string too) and a random subset of the service types."""
    texts = [None, "", *CLIENT_TEXTS] if empty else [None, *CLIENT_TEXTS]
    return {
        "name": f"{rng.choice(CLIENT_TEXTS[:4])} {number}",
        "contact_person": rng.choice(texts),
        "contact_email": rng.choice([None, f"c{number}@client.example"]),
        "notes": rng.choice(texts),
        "service_type_ids": rng.sample(type_ids, rng.randint(0, len(type_ids))),
    }
