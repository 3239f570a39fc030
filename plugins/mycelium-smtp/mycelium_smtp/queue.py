"""The email rows' state machine: claim atomically, record each outcome, retry, give up.

pending -> sending (claimed by one worker, with a lease) -> sent | pending (retry after
2^n minutes; or held, no attempt counted, while the key is refused or the provider rate
limits) | failed (permanent refusal, or retries used up); pending -> cancelled.
A row is only sent by the worker whose claim token it carries, so nothing goes twice;
a worker that dies mid-batch leaves leased rows that the sweep puts back.

This is the email failure policy; the hub's other two are the run policy
(``hub/core/runs/policy.py``) and the webhook schedule (``hub/core/webhooks/policy.py``), all
three in the hub's docs/architecture.md, "Failure policies".
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import case, func, select, update

from hub import now
from mycelium_smtp.messages import parse_address
from mycelium_smtp.models import Email
from mycelium_smtp.transport import Accepted, SmtpFailure

LEASE = timedelta(minutes=10)
_RANK = case({"urgent": 0, "high": 1, "normal": 2, "low": 3}, value=Email.priority, else_=4)


def _due(org_id: int | None, at: datetime, ids: list[int] | None) -> Any:
    stmt = select(Email.id).where(Email.status == "pending", Email.next_attempt_at <= at)
    if org_id is not None:
        stmt = stmt.where(Email.org_id == org_id)
    if ids is not None:
        stmt = stmt.where(Email.id.in_(ids))
    return stmt.order_by(_RANK, Email.next_attempt_at, Email.id)


def claim(session: Any, org_id: int, limit: int, ids: list[int] | None = None) -> list[Email]:
    """Mark up to `limit` due rows of the org as ours (status sending, leased); return them."""
    at, token = now(), secrets.token_hex(16)
    candidates = list(session.scalars(_due(org_id, at, ids).limit(limit)))
    if not candidates:
        return []
    session.execute(
        update(Email)
        .where(Email.id.in_(candidates), Email.status == "pending")
        .values(status="sending", claim_token=token, lease_until=at + LEASE)
        .execution_options(synchronize_session=False)
    )
    session.commit()
    stmt = select(Email).where(Email.claim_token == token, Email.status == "sending")
    stmt = stmt.order_by(_RANK, Email.next_attempt_at, Email.id)
    # populate_existing: rows already in the session must show the claim just written
    return list(session.scalars(stmt.execution_options(populate_existing=True)))


def has_due(session: Any, org_id: int, ids: list[int] | None = None) -> bool:
    """Is any row of the org (or among `ids`) due now? (before spending rate budget)"""
    return session.scalar(_due(org_id, now(), ids).limit(1)) is not None


def due_org_ids(session: Any, limit: int = 10_000) -> list[int]:
    """Organizations with rows waiting to be sent now."""
    stmt = (
        select(Email.org_id)
        .where(Email.status == "pending", Email.next_attempt_at <= now())
        .group_by(Email.org_id)
        .limit(limit)
    )
    return list(session.scalars(stmt))


def envelope(row: Email) -> list[str]:
    """Who the message still goes to (all recipients, or those a 4xx deferred)."""
    if row.pending_rcpts is not None:
        return list(row.pending_rcpts)
    everyone = [*row.to, *row.cc, *row.bcc]
    return list(dict.fromkeys(parse_address(a).addr_spec for a in everyone))


def record_accepted(row: Email, accepted: Accepted) -> str:
    """The server answered the message; the outcome: "sent", "retry" or "failed"."""
    targets = envelope(row)
    row.refused = {
        **(row.refused or {}),
        **{rcpt: f"{code} {why}" for rcpt, (code, why) in accepted.refused.items()},
    }
    deferred = accepted.temporary_refusals()
    if deferred:
        row.pending_rcpts = deferred  # only those still owed it; the others have it or never will
        return _retry_or_fail(row, f"Deferred: {_summary(accepted)}", temporary=True)
    if len(accepted.refused) >= len(targets):
        return _fail(row, f"Refused: {_summary(accepted)}")
    row.status, row.sent_at, row.last_error = "sent", now(), None
    row.pending_rcpts, row.claim_token, row.lease_until = None, None, None
    return "sent"


def suppress_listed(row: Email, listed: dict[str, str]) -> bool:
    """Leave out recipients on the suppression list; True when nobody is left (the row is
    then `suppressed`, not sent)."""
    if not listed:
        return False
    left = [rcpt for rcpt in envelope(row) if rcpt.lower() not in listed]
    row.refused = {**(row.refused or {}), **{a: f"suppressed: {r}" for a, r in listed.items()}}
    if left:
        row.pending_rcpts = left
        return False
    summary = ", ".join(f"{a} ({r})" for a, r in sorted(listed.items()))
    row.status, row.claim_token, row.lease_until = "suppressed", None, None
    row.last_error = f"Every recipient is on the suppression list: {summary}."[:2000]
    return True


def _summary(accepted: Accepted) -> str:
    return "; ".join(f"{rcpt}: {code} {why}" for rcpt, (code, why) in accepted.refused.items())


def record_failure(row: Email, failure: SmtpFailure) -> str:
    """Nobody got the message; the outcome: "retry" or "failed". A provider's 429 is no
    attempt: the row waits for its Retry-After; another Retry-After lengthens the wait."""
    wait = getattr(failure, "retry_after", None)
    if getattr(failure, "rate_limited", False):
        return _defer(row, failure.message, wait or 60.0)
    return _retry_or_fail(row, failure.message, temporary=failure.temporary, at_least=wait)


def drop_recipients(row: Email, refused: dict[str, str]) -> str:
    """The provider refused the whole message for these recipients alone, for good (the
    inactive recipients Postmark names): recorded in `refused`, and the others, if any,
    are sent again at once without counting an attempt (else the row fails)."""
    row.refused = {**(row.refused or {}), **refused}
    summary = "; ".join(f"{rcpt}: {why}" for rcpt, why in refused.items())
    left = [rcpt for rcpt in envelope(row) if rcpt not in refused]
    if not left:
        return _fail(row, f"Refused: {summary}")
    row.pending_rcpts = left
    return _defer(row, f"Refused: {summary}; sent again to the others.", 0.0)


def hold(row: Email, error: str) -> str:
    """The provider refused the credentials: no attempt is counted and the row stays due;
    it goes once the integration works again (the queue sends nothing for an integration
    that is not ``enabled``, and saving a working key enables it again)."""
    return _defer(row, error, 0.0)


def _defer(row: Email, error: str, seconds: float) -> str:
    row.status, row.last_error = "pending", error[:2000]
    row.next_attempt_at = now() + timedelta(seconds=seconds)
    row.claim_token, row.lease_until = None, None
    return "retry"


def _retry_or_fail(
    row: Email, error: str, *, temporary: bool, at_least: float | None = None
) -> str:
    """Retry after 2^n minutes (or `at_least` seconds, when longer) while the row has
    retries left; else it fails for good."""
    if not temporary or row.retries >= row.max_retries:
        return _fail(row, error)
    row.retries += 1
    row.status, row.last_error = "pending", error[:2000]
    delay = max(timedelta(minutes=2**row.retries), timedelta(seconds=at_least or 0))
    row.next_attempt_at = now() + delay
    row.claim_token, row.lease_until = None, None
    return "retry"


def _fail(row: Email, error: str) -> str:
    row.status, row.last_error, row.failed_at = "failed", error[:2000], now()
    row.claim_token, row.lease_until = None, None
    return "failed"


def release(session: Any, rows: list[Email]) -> None:
    """Give claimed rows back untouched (not an attempt), e.g. when the rate limit is hit."""
    for row in rows:
        if row.status == "sending":
            row.status, row.claim_token, row.lease_until = "pending", None, None
    session.commit()


def sweep_expired_leases(session: Any) -> list[Email]:
    """Rows whose worker died mid-send go back to pending, counted as an attempt; the
    rows that failed for good instead (the caller commits)."""
    stale = list(
        session.scalars(
            select(Email).where(Email.status == "sending", Email.lease_until < now()).limit(1000)
        )
    )
    failed = [
        row
        for row in stale
        if _retry_or_fail(row, "The worker sending it stopped.", temporary=True) == "failed"
    ]
    return failed


def counts(session: Any, org_id: int) -> dict[str, int]:
    stmt = select(Email.status, func.count()).where(Email.org_id == org_id).group_by(Email.status)
    return {status: n for status, n in session.execute(stmt)}
