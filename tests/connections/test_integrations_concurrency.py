"""Concurrent PUT / PATCH / DELETE of one integration, over real HTTP to a served hub.

Each change reads the row locked, so on PostgreSQL (where requests really run at once)
no update is lost and every enable or disable emits its event once. On SQLite the write
lock already serialises them: the tests pass there too, but only PostgreSQL makes them
meaningful; CI runs both.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests
from marshmallow import Schema, fields
from sqlalchemy import select
from werkzeug.serving import make_server

import hub
from hub.core.models import Event, Integration
from hub.extensions import db

NAME = "concurrent"
ROUNDS = 10


class Config(Schema):
    a = fields.String()
    b = fields.String()
    c = fields.String()


class Plugin:
    @hub.hookimpl
    def register_providers(self, register: Any) -> None:
        register(hub.Provider(name=NAME, title="Concurrent", config_schema=Config))


@pytest.fixture
def base_url(app: Any, register_plugin: Any) -> Iterator[str]:
    register_plugin(Plugin(), NAME)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/api/integrations/{NAME}"
    server.shutdown()
    server.server_close()


def at_once(calls: list[Callable[[], requests.Response]]) -> list[requests.Response]:
    """Run the calls in threads released together; their answers."""
    barrier, answers = threading.Barrier(len(calls)), [None] * len(calls)

    def run(index: int) -> None:
        barrier.wait()
        answers[index] = calls[index]()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return [answer for answer in answers if answer is not None]


def call(method: str, url: str, key: str, body: dict[str, Any] | None = None) -> Callable[[], Any]:
    headers = {"Authorization": f"Bearer {key}"}
    return lambda: requests.request(method, url, json=body, headers=headers, timeout=30)


def lifecycle_events(app: Any) -> list[str]:
    with app.app_context():
        stmt = select(Event.type).where(Event.type.like("integration.%")).order_by(Event.seq)
        found = list(db.session.scalars(stmt))
        db.session.commit()
        return found


def stored_config(app: Any) -> dict[str, Any]:
    with app.app_context():
        row = db.session.scalar(select(Integration).where(Integration.plugin == NAME))
        db.session.commit()
        return dict(row.config)


def test_concurrent_patches_of_different_fields_keep_every_update(
    app: Any, base_url: str, org: Any
) -> None:
    assert call("PUT", base_url, org.admin_key, {})().status_code == 200
    for round_ in range(ROUNDS):
        patches = [{name: f"{name}{round_}"} for name in ("a", "b", "c")]
        answers = at_once([call("PATCH", base_url, org.admin_key, body) for body in patches])
        assert [answer.status_code for answer in answers] == [200, 200, 200]
        assert stored_config(app) == {"a": f"a{round_}", "b": f"b{round_}", "c": f"c{round_}"}


def test_concurrent_enables_and_disables_emit_each_change_once(
    app: Any, base_url: str, org: Any
) -> None:
    key = org.admin_key
    for _ in range(ROUNDS):
        ups = [call("PUT", base_url, key, {}) for _ in range(3)]
        assert [a.status_code for a in at_once(ups)] == [200, 200, 200]
        downs = [call("DELETE", base_url, key) for _ in range(3)]
        assert [a.status_code for a in at_once(downs)] == [200, 200, 200]
    expected = ["integration.enabled", "integration.disabled"] * ROUNDS
    assert lifecycle_events(app) == expected


def test_mixed_concurrent_changes_leave_events_that_match_the_state(
    app: Any, base_url: str, org: Any
) -> None:
    key = org.admin_key
    call("PUT", base_url, key, {})()  # set up (a DELETE of nothing is a 404), then off
    call("DELETE", base_url, key)()
    for round_ in range(ROUNDS):
        mixed = [
            call("PUT", base_url, key, {"a": f"put{round_}"}),
            call("DELETE", base_url, key),
            call("PUT", base_url, key, {"b": f"put{round_}"}),
            call("DELETE", base_url, key),
        ]
        assert all(answer.status_code == 200 for answer in at_once(mixed))
    changes = lifecycle_events(app)
    # enabled, disabled, enabled, ...: never the same change twice in a row
    assert changes == ["integration.enabled", "integration.disabled"] * (len(changes) // 2) + (
        ["integration.enabled"] if len(changes) % 2 else []
    )
    enabled = call("GET", base_url, key)().json()["enabled"]
    assert enabled == (len(changes) % 2 == 1)
