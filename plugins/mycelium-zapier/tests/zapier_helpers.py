"""Helpers of the Zapier plugin's tests: the API calls Zapier makes, and the plugin's rows."""

from __future__ import annotations

from typing import Any

from mycelium_zapier.models import ZapierDelivery
from sqlalchemy import select

HOOKS = "/api/integrations/zapier/hooks"


def subscribe(api: Any, target_url: str, event: str = "client.created") -> dict[str, Any]:
    response = api.post(HOOKS, json={"target_url": target_url, "event": event})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def hooks_of(api: Any) -> list[dict[str, Any]]:
    response = api.get(HOOKS)
    assert response.status_code == 200, response.get_json()
    return response.get_json()["items"]


def make_client(api: Any, name: str = "Globex", **fields: Any) -> dict[str, Any]:
    response = api.post("/api/clients", json={"name": name, **fields})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def deliveries(ctx: Any) -> list[ZapierDelivery]:
    """The organization's delivery rows, oldest first, as they are now."""
    ctx.db.expire_all()
    return list(ctx.db.scalars(select(ZapierDelivery).order_by(ZapierDelivery.id)))
