"""The flattened client pages (hub/core/client_pages.py) answer exactly what ClientSchema
dumps from the ORM: the same JSON, byte for byte, on generated clients."""

from __future__ import annotations

import random
from typing import Any

from flask import Flask
from sqlalchemy import select
from support.apitools import random_client

from hub.core.models import Client
from hub.core.schemas import ClientSchema
from hub.extensions import db
from hub.testing import ApiClient, OrgHandle


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
        response = api.post("/api/clients", json=random_client(rng, number, type_ids))
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
