"""The flattened client pages (hub/core/client_pages.py) answer exactly what ClientSchema
dumps from the ORM: the same JSON, byte for byte, on generated clients."""

from __future__ import annotations

import random
from typing import Any

from flask import Flask
from sqlalchemy import select

from hub.core.models import Client
from hub.core.schemas import ClientSchema
from hub.extensions import db
from hub.testing import ApiClient, OrgHandle

TEXTS = ["", "plain", "Zoë & Søn — “quoted”", "line\nbreak\ttab", "emoji 🎬", "a" * 200]


def _random_client(rng: random.Random, number: int, type_ids: list[int]) -> dict[str, Any]:
    maybe = lambda: rng.choice([None, *TEXTS[1:]])  # noqa: E731
    return {
        "name": f"{rng.choice(TEXTS[1:5])} {number}",
        "contact_person": maybe(),
        "contact_email": rng.choice([None, f"c{number}@client.example"]),
        "notes": maybe(),
        "service_type_ids": rng.sample(type_ids, rng.randint(0, len(type_ids))),
    }


def _schema_pages(app: Flask, org_id: int, limit: int) -> list[list[dict[str, Any]]]:
    """What ClientSchema dumps for the org's clients, by id, cut into pages."""
    with app.app_context():
        rows = db.session.scalars(
            select(Client).where(Client.org_id == org_id).order_by(Client.id)
        ).all()
        dumped = ClientSchema().dump(rows, many=True)
    return [dumped[i : i + limit] for i in range(0, len(dumped), limit)]


def test_pages_are_the_schema_dump_byte_for_byte(
    app: Flask, api: ApiClient, other_api: ApiClient, org: OrgHandle
) -> None:
    rng = random.Random(22)
    type_ids = [
        api.post("/api/service-types", json={"name": name}).get_json()["id"]
        for name in ("Video", "Branding", "Web", "Print")
    ]
    for number in range(23):
        response = api.post("/api/clients", json=_random_client(rng, number, type_ids))
        assert response.status_code == 201, response.get_json()
    other_api.post("/api/clients", json={"name": "Not ours"})  # another org's stays out

    expected = _schema_pages(app, org.id, 5)
    assert len(expected) == 5
    cursor, pages = None, []
    while True:
        response = api.get("/api/clients?limit=5" + (f"&cursor={cursor}" if cursor else ""))
        assert response.status_code == 200
        body = response.get_json()
        number = len(pages)
        want = {"items": expected[number], "next_cursor": body["next_cursor"]}
        assert response.data == app.json.response(want).data  # same bytes as the schema's
        pages.append(body["items"])
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert pages == expected
    assert any(item["service_types"] for page in pages for item in page)
    assert any(item["notes"] is None for page in pages for item in page)


def test_an_empty_organization_has_an_empty_page(api: ApiClient) -> None:
    response = api.get("/api/clients")
    assert response.status_code == 200
    assert response.get_json() == {"items": [], "next_cursor": None}
