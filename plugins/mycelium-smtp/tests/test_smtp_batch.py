"""POST /api/integrations/smtp/emails/batch: up to 1,000 emails, all or nothing."""

from __future__ import annotations

from typing import Any

import pytest
from mycelium_smtp import jobs, suppressions
from smtp_helpers import SmtpServer, smtp_config
from sqlalchemy import text

from hub import db_session
from hub.testing import ApiClient, OrgHandle

BASE = "/api/integrations/smtp"


@pytest.fixture
def enabled(api: ApiClient, smtp_server: SmtpServer) -> ApiClient:
    assert api.put(BASE, json=smtp_config(smtp_server.port)).status_code == 200
    return api


def one(n: int, **changes: Any) -> dict[str, Any]:
    body = {
        "template": "deliverable_due",
        "to": [f"Person {n} <p{n}@client.example>"],
        "variables": {"deliverable_title": f"Logo {n}"},
    }
    return {**body, **changes}


def count(api: ApiClient) -> int:
    return len(api.get(f"{BASE}/emails?limit=200").get_json()["items"])


def test_a_batch_is_queued_and_delivered(
    enabled: ApiClient, app: Any, org: OrgHandle, smtp_server: SmtpServer
) -> None:
    response = enabled.post(f"{BASE}/emails/batch", json={"emails": [one(n) for n in range(30)]})
    assert response.status_code == 202, response.get_json()
    items = response.get_json()["items"]
    assert [i["to"] for i in items] == [[f"Person {n} <p{n}@client.example>"] for n in range(30)]
    assert {i["status"] for i in items} == {"pending"} and len(
        {i["message_id"] for i in items}
    ) == 30
    with app.app_context():
        jobs.deliver_org(org.id)
    got = {r.message["Subject"]: r.rcpt_tos for r in smtp_server.mailbox.received}
    assert len(got) == 30 and ["p7@client.example"] in got.values()
    assert any("Logo 7" in str(m.get_body(("plain",))) for m in smtp_server.mailbox.messages())


def test_one_bad_email_queues_none_and_is_named_by_index(enabled: ApiClient) -> None:
    emails = [one(n) for n in range(5)]
    emails[1] = one(1, to=["not an address"])
    emails[3] = one(3, variables={"no_such_variable": "x"})
    response = enabled.post(f"{BASE}/emails/batch", json={"emails": emails})
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert set(error["details"]["emails"]) == {"1", "3"}
    assert "to.0" in error["details"]["emails"]["1"]
    assert "variables.no_such_variable" in error["details"]["emails"]["3"]
    assert "2 of the 5" in error["message"]
    assert count(enabled) == 0

    shape = enabled.post(f"{BASE}/emails/batch", json={"emails": [one(0), {"to": ["a@b.example"]}]})
    assert shape.status_code == 400
    assert "template" in shape.get_json()["error"]["details"]["emails"]["1"]
    assert count(enabled) == 0


def test_batch_limits(enabled: ApiClient) -> None:
    for body in ({"emails": []}, {"emails": [one(0)] * 1001}, {}):
        response = enabled.post(f"{BASE}/emails/batch", json=body)
        assert response.status_code == 400 and "emails" in response.get_json()["error"]["details"]
    assert count(enabled) == 0


def test_a_member_batch_to_a_stranger_is_refused_whole(
    enabled: ApiClient, member_api: ApiClient, org: OrgHandle
) -> None:
    colleague = {**one(0), "to": [f"member@{org.org.slug}.example"]}
    response = member_api.post(f"{BASE}/emails/batch", json={"emails": [colleague, one(1)]})
    assert response.status_code == 403
    assert set(response.get_json()["error"]["details"]["emails"]) == {"1"}
    assert count(enabled) == 0
    fine = member_api.post(f"{BASE}/emails/batch", json={"emails": [colleague]})
    assert fine.status_code == 202 and fine.get_json()["items"][0]["status"] == "pending"


# what a row holds that is the same whichever way it was queued (not ids, times, Message-ID)
SAME = (
    'template, variables, "to", cc, bcc, subject, html, text, unsubscribe_url, priority,'
    " status, retries, max_retries, scheduled_for, refused, last_error, dedupe_key, queued_by,"
    " pending_rcpts IS NULL, delivery_events IS NULL, sent_at, failed_at, org_id"
)


def test_a_batch_stores_the_rows_single_posts_store(
    enabled: ApiClient, app: Any, org: OrgHandle
) -> None:
    with app.app_context():
        db = db_session()
        suppressions.suppress(db, org.org.id, ["gone@client.example"], "hard_bounce", "550")
        db.commit()
    emails = [
        one(0),
        one(1, cc=["Gone <gone@client.example>"], priority="low"),
        one(2, to=["gone@client.example"]),
        one(3, bcc=["audit@studio.example"], max_retries=5, priority="high"),
        one(4, scheduled_for="2099-01-02T03:04:05+00:00"),
        {"template": "password_reset", "to": ["p5@client.example"], "variables": {}},
    ]
    singles = [enabled.post(f"{BASE}/emails", json=e) for e in emails]
    assert [r.status_code for r in singles] == [202] * len(emails), singles[-1].get_json()
    batch = enabled.post(f"{BASE}/emails/batch", json={"emails": emails})
    assert batch.status_code == 202, batch.get_json()
    ids = [r.get_json()["id"] for r in singles], [i["id"] for i in batch.get_json()["items"]]
    # ids ascend in the batch's order, after the single posts', as one insert after another's
    assert ids[1] == sorted(ids[1]) and len(set(ids[1])) == len(emails) > 0
    assert min(ids[1]) > max(ids[0])
    with app.app_context():
        db = db_session()

        def stored(row_ids: list[int]) -> list[Any]:
            sql = f"SELECT id, {SAME} FROM smtp_emails WHERE id IN ({','.join(map(str, row_ids))})"
            by_id = {row[0]: tuple(row[1:]) for row in db.execute(text(sql))}
            return [by_id[i] for i in row_ids]

        assert stored(ids[1]) == stored(ids[0])
    statuses = [i["status"] for i in batch.get_json()["items"]]
    assert statuses == ["pending", "pending", "suppressed", "pending", "pending", "pending"]
    shown = [r.get_json() for r in singles], batch.get_json()["items"]
    drop = ("id", "message_id", "created_at", "next_attempt_at")
    assert [{k: v for k, v in s.items() if k not in drop} for s in shown[1]] == [
        {k: v for k, v in s.items() if k not in drop} for s in shown[0]
    ]
