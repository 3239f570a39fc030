"""Usage recording: what ctx.http records, moved to the database exactly once."""

from __future__ import annotations

import json
import multiprocessing
from datetime import UTC, datetime
from typing import Any

import pytest
import redis
from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import Session
from support import oauth_plugin
from support.oauth_plugin import NAME, OAuthTestPlugin, connect, oauth_config
from support.oauth_server import OAuthServer

from hub.core.connections import usage
from hub.core.connections.usage import PENDING_KEY, UsageRecord, UsageRecorder
from hub.extensions import db
from hub.jobs import flush_usage, health_checks, recurring, refresh_tokens

oauth_server = oauth_plugin.oauth_server


@pytest.fixture
def hub_config(hub_config: dict[str, Any], oauth_server: OAuthServer) -> dict[str, Any]:
    return oauth_config(hub_config, oauth_server)


def rows(app) -> list[UsageRecord]:
    with app.app_context():
        found = list(db.session.scalars(select(UsageRecord).order_by(UsageRecord.id)))
        db.session.remove()
        return found


def test_every_ctx_http_call_is_recorded(
    app, api, client, org, register_plugin, plugin_context, oauth_server
):
    register_plugin(OAuthTestPlugin(), NAME)
    assert connect(api, client) == {"success": NAME}
    ctx = plugin_context(NAME)
    base = ctx.setting("TESTOAUTH_API_BASE")
    ctx.http.get(f"{base}/userinfo", headers={"Authorization": f"Bearer {ctx.access_token()}"})
    ctx.http.get(f"{base}/userinfo", feature="files.check")  # no token: 401
    db.session.commit()
    with app.app_context():
        flush_usage(app)
    found = [(r.plugin, r.feature, r.method, r.status, r.ok) for r in rows(app)]
    assert found == [
        (NAME, "other", "GET", 200, True),
        (NAME, "files.check", "GET", 401, False),
    ]
    first = rows(app)[0]
    assert first.org_id == org.id and first.bytes > 0 and first.duration_ms > 0


def test_the_connection_jobs_fill_the_schedulers_slots(app):
    jobs = recurring(app)
    assert jobs["token_refresh"].function is refresh_tokens
    assert jobs["health_checks"].function is health_checks
    assert jobs["usage_flush"].function is flush_usage
    assert jobs["token_refresh"].schedule == app.config["HUB_TOKEN_REFRESH_CRON"]


def _fill(url: str, org_id: int, count: int) -> None:
    with redis.Redis.from_url(url) as client:
        recorder = UsageRecorder(client)
        for _ in range(count):
            recorder(org_id=org_id, plugin="files", feature="file.upload", status=200)


def _drain(database_url: str, redis_url: str) -> int:
    engine = create_engine(database_url)
    with Session(engine) as session:
        return usage.drain(session, redis.Redis.from_url(redis_url))


def test_two_processes_flushing_at_once_move_each_record_once(
    app, org, hub_config, hub_redis_url, redis_client
):
    _fill(hub_redis_url, org.id, 2000)
    with multiprocessing.get_context("spawn").Pool(2) as pool:
        pool.starmap(_drain, [(hub_config["HUB_DATABASE_URL"], hub_redis_url)] * 2)
    with app.app_context():
        usage.drain(db.session(), redis_client)  # whatever a locked-out process left
        count = db.session.scalar(select(func.count()).select_from(UsageRecord))
        distinct = db.session.scalar(select(func.count(func.distinct(UsageRecord.uid))))
        db.session.remove()
    assert count == distinct == 2000
    assert redis_client.llen(PENDING_KEY) == 0


def test_a_flush_that_died_before_trimming_writes_nothing_twice(app, org, redis_client):
    recorder = UsageRecorder(redis_client)
    for _ in range(10):
        recorder(org_id=org.id, plugin="files", feature="file.upload", status=200)
    with app.app_context():
        session = db.session()
        usage._insert(session, list(redis_client.lrange(PENDING_KEY, 0, 4)))  # died here
        assert usage.drain(session, redis_client) == 5
        assert session.scalar(select(func.count()).select_from(UsageRecord)) == 10
        db.session.remove()


def test_recording_never_breaks_the_call_when_redis_is_down(tmp_path, caplog):
    recorder = UsageRecorder(redis.Redis(unix_socket_path=str(tmp_path / "nothing.sock")))
    recorder(org_id=1, plugin="files", feature="file.upload", status=200)
    assert "usage not recorded" in caplog.text


def test_a_drained_record_reads_back_as_it_was_recorded(app, org, redis_client):
    # PostgreSQL takes the stored records as they are (json_to_recordset): every field,
    # the time to the microsecond, the hour, and `ok` judged by the status for a record
    # pushed before `ok` was stored; a uid twice in one batch is written once
    recorder = UsageRecorder(redis_client)
    item = usage.usage(
        org_id=org.id,
        plugin="files",
        feature="file.upload",
        method="put",
        status=201,
        duration=0.123456,
        size=2**40,
        ok=False,
    )
    recorder.record_many([item, item])
    old = {**vars(item), "uid": "old-500", "status": 500}
    del old["ok"]
    redis_client.rpush(
        PENDING_KEY, json.dumps(old), json.dumps({**old, "uid": "old-200", "status": 200})
    )
    with app.app_context():
        assert usage.drain(db.session(), redis_client) == 3
        db.session.remove()
    stored = {r.uid: r for r in rows(app)}
    assert set(stored) == {item.uid, "old-500", "old-200"}
    mine = stored[item.uid]
    at = datetime.fromtimestamp(item.at, UTC)
    assert (mine.org_id, mine.plugin, mine.feature, mine.method) == (
        org.id,
        "files",
        "file.upload",
        "PUT",
    )
    assert (mine.status, mine.ok, mine.duration_ms, mine.bytes) == (201, False, 123.456, 2**40)
    assert mine.created_at == at and mine.hour == int(item.at // 3600)
    assert stored["old-500"].ok is False and stored["old-200"].ok is True
