"""Sending webhook deliveries: claim the due ones in bulk, POST them signed, record in bulk.

A claim reads each organization's oldest due deliveries (bounded by what it leases) and
leases them with one ``UPDATE ... RETURNING`` that checks they are still due, so two
workers never send the same attempt; results are one bulk insert of attempts and one bulk
update of deliveries.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import time
from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cache
from http.client import HTTPException
from typing import Any

from sqlalchemy import Integer, bindparam, func, select, union_all, update

from hub.core import clock
from hub.core.connections.usage import UsageRecorder
from hub.core.crypto import DecryptionError, KeyRing
from hub.core.db import AnySession, among, constant, row_check
from hub.core.egress_http import EgressPool, HeaderBlock
from hub.core.signatures import decode_webhook_secret
from hub.core.socket_deadline import attempt_deadline
from hub.core.webhooks.endpoints import signing_secrets
from hub.core.webhooks.models import (
    DELIVERIES,
    PENDING,
    WebhookDelivery,
    WebhookEndpoint,
)
from hub.core.webhooks.policy import Policy, parse_retry_after
from hub.errors import EgressRefused

log = logging.getLogger(__name__)
MAX_RESPONSE_CHARS = 20_000


@dataclass(frozen=True)
class SendSettings:
    timeout: float  # the whole attempt, connect to last byte (enforced on the socket)
    user_agent: str
    policy: Policy
    usage: UsageRecorder | None = None  # told about every attempt, a batch at a time
    plugin: str = "webhooks"  # whose usage the attempts are
    connect_timeout: float | None = None  # None: the attempt's timeout

    @property
    def connect(self) -> float:
        return min(self.connect_timeout or self.timeout, self.timeout)


@dataclass(frozen=True)
class Claimed:
    id: int
    org_id: int
    endpoint_id: int
    event_id: str
    event_type: str
    body: str
    attempts: int
    manual: bool
    lease_until: datetime | None


@dataclass(frozen=True)
class Target:
    """An endpoint as it stood when its deliveries were claimed, secrets decrypted."""

    id: int
    url: str
    secrets: list[str]
    enabled: bool
    failing_since: datetime | None
    last_success_at: datetime | None = None
    problem: str | None = None  # why nothing can be sent to it (disabled, secret unreadable)
    # the secrets' HMAC-SHA256 states, keyed once: each signature copies one (made from
    # `secrets` when not given)
    keys: tuple[hmac.HMAC, ...] = field(default=(), compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.secrets and not self.keys:
            object.__setattr__(self, "keys", _keyed(self.secrets))


@dataclass(frozen=True)
class Outcome:
    delivery: Claimed
    attempted_at: datetime
    status: int | None = None
    duration_ms: int = 0
    response_body: str | None = None
    error: str | None = None
    timed_out: bool = False
    retry_after: float | None = None
    sent: bool = True  # False: the endpoint was disabled, nothing went out

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


ORGS_PER_STATEMENT = 16  # organizations whose oldest due deliveries one SELECT reads


def _due_in(table: Any, now: Any) -> Any:
    return (
        (table.c.state == constant(PENDING))
        & (table.c.next_attempt_at <= now)
        & (table.c.lease_until.is_(None) | (table.c.lease_until < now))
    )


def _pending_orgs_statement() -> Any:
    """The organizations with pending deliveries, one probe of ix_webhook_deliveries_org_due
    each (a recursive walk: the next org_id after the last), not one row per delivery."""
    table, probe = DELIVERIES, DELIVERIES.alias("probe")
    pending = constant(PENDING)  # in the text: a generic plan must know it (db.constant)
    start = select(func.min(table.c.org_id).label("org_id")).where(table.c.state == pending)
    orgs = start.cte("pending_orgs", recursive=True)
    following = (
        select(func.min(probe.c.org_id))
        .where(probe.c.state == pending, probe.c.org_id > orgs.c.org_id)
        .scalar_subquery()
    )
    orgs = orgs.union_all(select(following).where(orgs.c.org_id.is_not(None)))
    return select(orgs.c.org_id).where(orgs.c.org_id.is_not(None))


_PENDING_ORGS = _pending_orgs_statement()


@cache
def _oldest_due_statement(orgs: int) -> Any:
    """Each of `orgs` organizations' oldest due deliveries, up to its share (``c_share``),
    read from ix_webhook_deliveries_org_due in order: built once per number of orgs."""
    table = DELIVERIES
    parts = [
        select(table.c.id, table.c.org_id, table.c.next_attempt_at)
        .where(table.c.org_id == bindparam(f"c_org{n}"), _due_in(table, bindparam("c_now")))
        .order_by(table.c.next_attempt_at, table.c.id)
        .limit(bindparam("c_share", type_=Integer))
        .subquery()
        for n in range(orgs)
    ]
    return union_all(*(select(part) for part in parts))


_LEASE = (
    update(DELIVERIES)
    .where(
        among(DELIVERIES.c.id, "c_ids"),
        row_check(_due_in(DELIVERIES, bindparam("c_now"))),  # rows by id alone
    )
    .values(lease_until=bindparam("c_until"))
    .returning(*(DELIVERIES.c[name] for name in Claimed.__dataclass_fields__))
)


def _in_turn(session: AnySession, orgs: list[int], share: int, now: datetime) -> list[Any]:
    """The candidates: each organization's oldest due deliveries, up to `share` of each,
    as (turn, next_attempt_at, id) with turn 0 for each one's oldest."""
    by_org: dict[int, list[tuple[datetime, int]]] = defaultdict(list)
    for start in range(0, len(orgs), ORGS_PER_STATEMENT):
        chunk = orgs[start : start + ORGS_PER_STATEMENT]
        params: dict[str, Any] = {f"c_org{n}": org for n, org in enumerate(chunk)}
        params.update(c_now=now, c_share=share)
        for row in session.execute(_oldest_due_statement(len(chunk)), params):
            by_org[row.org_id].append((row.next_attempt_at, row.id))
    # a UNION ALL keeps no order of its own: each organization's are put in theirs here
    return [
        (turn, due_at, delivery_id)
        for rows in by_org.values()
        for turn, (due_at, delivery_id) in enumerate(sorted(rows))
    ]


def claim(
    session: AnySession,
    limit: int,
    lease: timedelta,
    per_org: int | None = None,
    skip_orgs: Collection[int] = (),
    *,
    pending: set[int] | None = None,
    commit: bool = True,
) -> list[Claimed]:
    """Lease up to `limit` due deliveries and commit: at most `per_org` of an organization
    (its oldest due), none of `skip_orgs`, organizations in turn, so one organization's
    backlog never fills a claim while another's deliveries wait.

    `pending`, when given, is filled with the organizations it looked at (those with
    pending deliveries, `skip_orgs` left out). With ``commit=False`` the caller commits
    (the pump reads the endpoints in the same transaction).

    What it reads is bounded by what it leases, not by the backlog: the organizations with
    pending deliveries (one index probe each), then each one's oldest due deliveries up to
    its share. Ranking every due delivery instead made a claim cost 7.6 ms at 12,000 due."""
    now = clock.now()
    skipped = set(skip_orgs)
    orgs = [org for org in session.scalars(_PENDING_ORGS) if org not in skipped]
    if pending is not None:
        pending.update(orgs)
    share = min(per_org or limit, limit)
    candidates = sorted(_in_turn(session, orgs, share, now)) if orgs else []
    ids = [delivery_id for _, _, delivery_id in candidates[:limit]]
    if not ids:
        if commit:
            session.commit()
        return []
    params = {"c_ids": ids, "c_now": now, "c_until": now + lease}
    rows = session.execute(_LEASE, params).all()  # in Claimed's field order, id first
    if commit:
        session.commit()
    place = {delivery_id: n for n, delivery_id in enumerate(ids)}
    return [Claimed(*row) for row in sorted(rows, key=lambda row: place[row[0]])]


def release(session: AnySession, deliveries: list[Claimed]) -> None:
    """Give back claimed deliveries not attempted: due again at once, for any worker."""
    for lease, ids in _by_lease(deliveries).items():
        session.execute(
            update(DELIVERIES)
            .where(DELIVERIES.c.id.in_(ids), DELIVERIES.c.lease_until == lease)
            .values(lease_until=None)
        )
    session.commit()


def _by_lease(deliveries: list[Claimed]) -> dict[datetime | None, list[int]]:
    grouped: dict[datetime | None, list[int]] = {}
    for delivery in deliveries:
        grouped.setdefault(delivery.lease_until, []).append(delivery.id)
    return grouped


_ENDPOINTS_BY_ID = select(WebhookEndpoint).where(among(WebhookEndpoint.id, "t_ids"))


def load_targets(
    session: AnySession, keyring: KeyRing, endpoint_ids: set[int], now: datetime
) -> dict[int, Target]:
    """The endpoints of a claimed batch, with their signing secrets."""
    found = session.scalars(_ENDPOINTS_BY_ID, {"t_ids": list(endpoint_ids)})
    targets = {e.id: _target(keyring, e, now) for e in found}
    session.commit()
    return targets


def _target(keyring: KeyRing, endpoint: WebhookEndpoint, now: datetime) -> Target:
    problem = None if endpoint.enabled else "The endpoint is disabled."
    try:
        secrets = signing_secrets(keyring, endpoint, now)
        keys = _keyed(secrets)
    except DecryptionError:
        log.error("webhook endpoint %s: its secret cannot be decrypted", endpoint.id)
        secrets, keys, problem = [], (), "The endpoint's secret cannot be decrypted (key ring)."
    except ValueError:
        log.error("webhook endpoint %s: its secret is not a whsec_ secret", endpoint.id)
        secrets, keys, problem = [], (), "The endpoint's secret is malformed."
    return Target(
        endpoint.id,
        endpoint.url,
        secrets,
        endpoint.enabled,
        endpoint.failing_since,
        endpoint.last_success_at,
        problem,
        keys,
    )


def _keyed(secrets: list[str]) -> tuple[hmac.HMAC, ...]:
    return tuple(hmac.new(decode_webhook_secret(s), None, hashlib.sha256) for s in secrets)


def next_due(session: AnySession) -> datetime | None:
    """When the earliest pending delivery no worker holds is due (None: nothing pending)."""
    now = clock.now()
    free = WebhookDelivery.lease_until.is_(None) | (WebhookDelivery.lease_until < now)
    stmt = select(func.min(WebhookDelivery.next_attempt_at)).where(
        WebhookDelivery.state == constant(PENDING), free
    )
    when = session.scalar(stmt)
    session.commit()
    return when


def headers_for(target: Target, delivery: Claimed, body: bytes, user_agent: str) -> dict[str, str]:
    """Standard Webhooks headers; the timestamp (and so the signature) is this attempt's."""
    stamp = int(clock.now().timestamp())
    return {
        "Content-Type": "application/json",
        "User-Agent": user_agent,
        "webhook-id": delivery.event_id,
        "webhook-timestamp": str(stamp),
        "webhook-signature": signature(target.keys, delivery.event_id, stamp, body),
        "X-Mycelium-Event": delivery.event_type,
    }


def signature(keys: tuple[hmac.HMAC, ...], msg_id: str, timestamp: int, body: bytes) -> str:
    """``sign_webhook`` (hub.core.signatures) with the secrets keyed already."""
    if "." in msg_id:
        raise ValueError("a webhook id may not contain '.'")
    prefix = f"{msg_id}.{timestamp}.".encode()
    entries = []
    for key in keys:
        mac = key.copy()
        mac.update(prefix)
        mac.update(body)
        entries.append("v1," + base64.b64encode(mac.digest()).decode())
    return " ".join(entries)


def send(http: EgressPool, target: Target, delivery: Claimed, settings: SendSettings) -> Outcome:
    """POST one delivery; every failure becomes an Outcome, nothing raises."""
    attempted_at, started = clock.now(), time.monotonic()
    if target.problem is not None:
        return Outcome(delivery, attempted_at, error=target.problem, sent=False)
    body = delivery.body.encode()
    headers = HeaderBlock(headers_for(target, delivery, body, settings.user_agent))
    deadline = started + settings.timeout
    with attempt_deadline(settings.timeout) as attempt:
        try:
            reply = http.post(
                target.url,
                body,
                headers,
                settings.connect,
                settings.timeout,
                deadline,
                MAX_RESPONSE_CHARS * 4,
            )
        except TimeoutError:
            return _timed_out(delivery, attempted_at, started, settings.timeout)
        except EgressRefused as exc:
            return _failed(delivery, attempted_at, started, f"Refused by the egress guard: {exc}")
        except (HTTPException, OSError) as exc:
            if attempt.expired:  # the watchdog cut a slow answer short at the deadline
                return _timed_out(delivery, attempted_at, started, settings.timeout)
            return _failed(delivery, attempted_at, started, f"Connection failed: {_reason(exc)}")
    text = reply.body.decode("utf-8", "replace")[:MAX_RESPONSE_CHARS]
    retry_after = parse_retry_after(reply.headers.get("Retry-After"), attempted_at)
    return Outcome(
        delivery, attempted_at, reply.status, _ms(started), text, None, False, retry_after
    )


def _timed_out(delivery: Claimed, at: datetime, started: float, seconds: float) -> Outcome:
    return _failed(delivery, at, started, f"Timed out after {seconds:g} s.")


def _failed(delivery: Claimed, at: datetime, started: float, error: str) -> Outcome:
    return Outcome(delivery, at, duration_ms=_ms(started), error=error, timed_out="Timed" in error)


def _ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)


def _reason(exc: Exception) -> str:
    inner: BaseException = exc
    while inner.__context__ is not None and len(str(inner)) > 300:
        inner = inner.__context__
    return str(inner)[:500] or type(exc).__name__
