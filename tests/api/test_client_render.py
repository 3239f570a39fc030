"""render_client (hub/core/clients.py), a hand-written dump, answers exactly what
ClientSchema dumps: the same JSON, byte for byte, on generated clients, through the API's
answers and the client.created events as well."""

from __future__ import annotations

import random

from flask import Flask
from sqlalchemy import select
from support.apitools import random_client

from hub.core.clients import render_client
from hub.core.models import Client, Event
from hub.core.schemas import ClientSchema
from hub.extensions import db
from hub.testing import ApiClient, OrgHandle


def test_render_client_is_the_schema_dump_byte_for_byte(
    app: Flask, api: ApiClient, org: OrgHandle
) -> None:
    rng = random.Random(2206)
    type_ids = [
        api.post("/api/service-types", json={"name": name}).get_json()["id"]
        for name in ("Video", "Branding", "Web", "Print")
    ]
    answers = {}
    for number in range(20):
        response = api.post("/api/clients", json=random_client(rng, number, type_ids, empty=True))
        assert response.status_code == 201, response.get_json()
        answers[response.get_json()["id"]] = response.data
    renamed = next(iter(answers))
    assert api.patch(f"/api/clients/{renamed}", json={"notes": "changed"}).status_code == 200

    with app.app_context():
        clients = db.session.scalars(
            select(Client).where(Client.org_id == org.id).order_by(Client.id)
        ).all()
        schema = ClientSchema()
        dumps = {}
        for client in clients:
            dumps[client.id] = dumped = schema.dump(client)
            assert render_client(client) == dumped
            assert app.json.dumps(render_client(client)) == app.json.dumps(dumped)
        created = {
            e.payload["id"]: e.payload
            for e in db.session.scalars(select(Event).where(Event.type == "client.created"))
        }
        assert {api_id: created[api_id]["name"] for api_id in answers} == {
            c.id: c.name for c in clients
        }
    for client_id, body in answers.items():  # the POST's answer: the event's, the schema's
        payload = {k: v for k, v in created[client_id].items() if k != "actor"}
        assert body == app.json.response(payload).data
        if client_id != renamed:
            assert body == app.json.response(dumps[client_id]).data
    assert any(c.service_types for c in clients) and any(c.notes is None for c in clients)
