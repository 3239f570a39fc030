"""The run failure policy: what each outcome of a run does to it and its integration.

The other two policies: webhook deliveries in ``hub/core/webhooks/policy.py``, emails in
the email plugin's send queue; all three in docs/architecture.md, "Failure
policies".

- ``RateLimited(retry_after)``: back to ``queued`` at that time; the attempt is not counted.
- ``PermanentError``: ``failed`` at once; one more consecutive error for the integration.
- ``NeedsReauth``: the integration becomes ``needs_reauth`` (its event emitted once); the run
  ``waiting``, resumed by the run sweeper once the integration is ``enabled`` again.
- anything else (a timeout too): retried with exponential backoff and jitter until
  ``HUB_RUN_MAX_ATTEMPTS``; one more consecutive error; at ``HUB_MAX_CONSECUTIVE_ERRORS``
  the integration is disabled with a reason and an ``integration.disabled`` event.
- success: ``succeeded``; the integration's error count is reset (written per batch, runs.py).

Writes about a run are fenced by its attempt number, so a worker that lost its lease (and
whose run was claimed again) cannot overwrite the newer attempt's state.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import update

from hub.core import clock
from hub.core.connections.integrations import count_consecutive_error
from hub.core.connections.tokens import mark_needs_reauth
from hub.core.db import AnySession
from hub.core.models import Event, Integration, Organization, Run
from hub.core.timeouts import HookTimeout
from hub.errors import HubError, NeedsReauth, PermanentError, RateLimited

MAX_MESSAGE = 2000
JITTER = 0.2


@dataclass(frozen=True)
class RunRef:
    """What performing a run reads of its row: dispatch hands these over for the runs it
    just created (an ORM object per run cost more than the hook it runs)."""

    id: int
    plugin: str
    event_type: str
    event_id: str
    integration_id: int
    org_id: int


@dataclass
class Claimed:
    """A run this worker claimed, with what its hook needs; ``attempts`` fences our writes."""

    run: Run | RunRef
    attempts: int
    event: Event
    integration: Integration
    org: Organization
    always_on: bool = False  # built-in plugins are never disabled for errors
    grouped: bool = False  # the plugin's hooks are db-only: committed with other runs


@dataclass(frozen=True)
class Outcome:
    """What happened: ok | rate_limited | permanent | reauth | error | cancelled | waiting."""

    kind: str
    message: str = ""
    retry_after: float = 0.0

    @property
    def ok(self) -> bool:
        return self.kind == "ok"


OK = Outcome("ok")


def describe(exc: BaseException) -> str:
    text = exc.message if isinstance(exc, HubError) else str(exc)
    return f"{type(exc).__name__}: {text}"[:MAX_MESSAGE]


def outcome_of(exc: BaseException) -> Outcome:
    """The outcome a hook's exception stands for."""
    if isinstance(exc, RateLimited):
        return Outcome("rate_limited", describe(exc), float(exc.retry_after))
    if isinstance(exc, NeedsReauth):
        return Outcome("reauth", describe(exc))
    if isinstance(exc, PermanentError):
        return Outcome("permanent", describe(exc))
    if isinstance(exc, HookTimeout):
        return Outcome("error", f"Timeout: the hook {exc}")
    return Outcome("error", describe(exc))


def backoff(config: Any, attempts: int) -> float:
    """Seconds before the next attempt: doubling from HUB_RUN_BACKOFF, capped, +-20% jitter."""
    base = float(config["HUB_RUN_BACKOFF"]) * 2 ** max(attempts - 1, 0)
    delay = min(base, float(config["HUB_RUN_BACKOFF_MAX"]))
    return delay * random.uniform(1 - JITTER, 1 + JITTER)


def update_run(session: AnySession, item: Claimed, **values: Any) -> bool:
    """Change a run we still hold (same attempt, still running); whether we did."""
    stmt = (
        update(Run)
        .where(Run.id == item.run.id, Run.attempts == item.attempts, Run.state == "running")
        .values(lease_until=None, updated_at=clock.now(), **values)
        .execution_options(synchronize_session=False)
    )
    return bool(session.execute(stmt).rowcount)  # type: ignore[attr-defined]


def _locked_integration(session: AnySession, item: Claimed) -> Integration | None:
    return session.get(
        Integration, item.integration.id, populate_existing=True, with_for_update=True
    )


def count_error(session: AnySession, config: Any, item: Claimed, message: str) -> None:
    """One more consecutive error; at the limit the integration is disabled, once."""
    row = _locked_integration(session, item)
    if row is None:
        return
    limit = int(config["HUB_MAX_CONSECUTIVE_ERRORS"])
    count_consecutive_error(session, row, message, limit, item.always_on)


def _rate_limited(session: AnySession, config: Any, item: Claimed, outcome: Outcome) -> None:
    update_run(
        session,
        item,
        state="queued",
        attempts=Run.attempts - 1,
        next_attempt_at=clock.now() + timedelta(seconds=outcome.retry_after),
        enqueued_at=None,
        last_error=outcome.message,
    )


def _waiting(session: AnySession, config: Any, item: Claimed, outcome: Outcome) -> None:
    update_run(
        session,
        item,
        state="waiting",
        attempts=Run.attempts - 1,
        enqueued_at=None,
        last_error=outcome.message,
    )


def _reauth(session: AnySession, config: Any, item: Claimed, outcome: Outcome) -> None:
    if update_run(
        session,
        item,
        state="waiting",
        attempts=Run.attempts - 1,
        enqueued_at=None,
        last_error=outcome.message,
    ):
        row = session.get(Integration, item.integration.id)
        if row is not None:  # the connections' own marker: once, under a row lock
            mark_needs_reauth(session, row, outcome.message)


def _cancelled(session: AnySession, config: Any, item: Claimed, outcome: Outcome) -> None:
    update_run(
        session,
        item,
        state="failed",
        attempts=Run.attempts - 1,
        finished_at=clock.now(),
        last_error=outcome.message,
    )


def _permanent(session: AnySession, config: Any, item: Claimed, outcome: Outcome) -> None:
    if update_run(
        session, item, state="failed", finished_at=clock.now(), last_error=outcome.message
    ):
        count_error(session, config, item, outcome.message)


def _retry_values(config: Any, item: Claimed, now: datetime) -> dict[str, Any]:
    if item.attempts >= int(config["HUB_RUN_MAX_ATTEMPTS"]):
        return {"state": "failed", "finished_at": now}
    wait = backoff(config, item.attempts)
    return {
        "state": "queued",
        "next_attempt_at": now + timedelta(seconds=wait),
        "enqueued_at": None,
    }


def _error(session: AnySession, config: Any, item: Claimed, outcome: Outcome) -> None:
    values = _retry_values(config, item, clock.now())
    if update_run(session, item, last_error=outcome.message, **values):
        count_error(session, config, item, outcome.message)


_POLICY = {
    "rate_limited": _rate_limited,
    "waiting": _waiting,
    "reauth": _reauth,
    "cancelled": _cancelled,
    "permanent": _permanent,
    "error": _error,
}


def record_failure(session: AnySession, config: Any, item: Claimed, outcome: Outcome) -> None:
    """Apply the policy for a run that did not succeed (the caller commits)."""
    _POLICY[outcome.kind](session, config, item, outcome)
