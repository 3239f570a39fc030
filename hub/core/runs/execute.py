"""Runs: a worker claims a batch atomically, calls each plugin's hook under a deadline,
and records every outcome (policy in outcomes.py).

A batch costs a handful of statements however many runs it holds: one UPDATE claims
them all (``WHERE state = 'queued'``, so a duplicated job finds nothing), one SELECT loads
what the hooks need, and the successes are written together at the end. What a hook did
in the database (``ctx.emit``, its own tables) is committed as soon as it returns; a hook
that failed has its changes rolled back before its failure is recorded. A worker dying
between a hook and the batch's end leaves the run to be performed again (hooks are
idempotent by event id).

Plugins whose hooks only touch the database (``Provider.db_only_hooks``) run first in a
batch, and up to GROUP_COMMIT of them share one commit with their runs' success: a commit
per run (an fsync on PostgreSQL) costs more than such a hook. For the same reason their
runs of one integration share its context within a batch (each with its own copy of the
config). No other plugin's hook starts
while that transaction is open. When one of them fails, the rollback takes the group's
uncommitted work with it, so those runs are performed again one by one (a savepoint per
hook would cost as much as the commits it saves).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, and_, bindparam, or_, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import scoped_session

from hub.context import EventInfo, PluginContext
from hub.core import clock
from hub.core.connections.context import AppLike, PluginManager, build_context
from hub.core.db import AnySession, among, scope_to_org
from hub.core.models import Event, Integration, Organization, Run
from hub.core.runs.dispatch import create_runs
from hub.core.runs.policy import OK, Claimed, Outcome, RunRef, outcome_of, record_failure
from hub.core.runs.routing import HookTable, hooks_to_call, target_plugin
from hub.core.timeouts import HookTimeout, deadline
from hub.errors import PermanentError

log = logging.getLogger(__name__)

# A batch renews its leases when less than the hook timeout plus this is left.
LEASE_MARGIN = 5.0
GROUP_COMMIT = 100  # db-only runs committed together, at most
REFUSED = ("cancelled", "waiting")  # outcomes of runs whose hooks were not called


RUNS, INTEGRATIONS = cast(Table, Run.__table__), cast(Table, Integration.__table__)
# A batch's successes, built once (a statement built per batch cost more than its execute)
_SUCCEEDED = (
    update(RUNS)
    .where(
        among(RUNS.c.id, "s_ids"),
        RUNS.c.attempts == bindparam("s_attempt"),
        RUNS.c.state == "running",
    )
    .values(
        state="succeeded",
        finished_at=bindparam("s_now"),
        lease_until=None,
        last_error=None,
        updated_at=bindparam("s_now"),
    )
)
_INTEGRATIONS_OK = (
    update(INTEGRATIONS)
    .where(among(INTEGRATIONS.c.id, "s_ids"))
    .values(consecutive_errors=0, last_success_at=bindparam("s_now"))
)


def claim(session: AnySession, run_ids: Sequence[int], lease: float) -> dict[int, int]:
    """Claim the due, queued runs among `run_ids`: {run id: its attempt number}."""
    now = clock.now()
    stmt = (
        update(Run)
        .where(among(Run.id, run_ids), Run.state == "queued", Run.next_attempt_at <= now)
        .values(
            state="running",
            attempts=Run.attempts + 1,
            lease_until=now + timedelta(seconds=lease),
            updated_at=now,
        )
        .returning(Run.id, Run.attempts)
        .execution_options(synchronize_session=False)
    )
    return {run_id: attempts for run_id, attempts in session.execute(stmt)}


def load(session: AnySession, plugins: PluginManager, claimed: dict[int, int]) -> list[Claimed]:
    """The claimed runs with their event, integration and organization, in run order."""
    stmt = (
        select(Run, Event, Integration, Organization)
        .join(Event, Event.id == Run.event_id)
        .join(Integration, Integration.id == Run.integration_id)
        .join(Organization, Organization.id == Run.org_id)
        .where(among(Run.id, claimed))
        .order_by(Run.id)
        .execution_options(populate_existing=True)
    )
    return [
        claimed_run(plugins, run, claimed[run.id], event, integration, org)
        for run, event, integration, org in session.execute(stmt)
    ]


def claimed_run(
    plugins: PluginManager,
    run: Run | RunRef,
    attempts: int,
    event: Event,
    integration: Integration,
    org: Organization,
) -> Claimed:
    provider = plugins.provider(run.plugin)
    always_on = provider is not None and provider.always_on
    grouped = provider is not None and provider.db_only_hooks
    return Claimed(run, attempts, event, integration, org, always_on, grouped)


def _refusal(plugins: PluginManager, item: Claimed) -> Outcome | None:
    """Why this run must not call its hook now, if it must not."""
    integration = item.integration
    if plugins.provider(integration.plugin) is None:
        return Outcome("cancelled", f"The plugin {integration.plugin!r} is not installed.")
    if not integration.enabled and target_plugin(item.event) != integration.plugin:
        return Outcome("cancelled", "The integration is disabled.")
    if integration.status == "needs_reauth":
        return Outcome("waiting", "Waiting for an admin to reconnect the integration.")
    return None


def _call_hooks(
    app: AppLike,
    session: AnySession,
    table: HookTable,
    item: Claimed,
    contexts: dict[int, PluginContext] | None = None,
) -> None:
    plugins = table.plugins
    calls = hooks_to_call(table, item.integration, item.event)
    if not calls:
        return
    ctx = _context(app, session, item, contexts)
    info = EventInfo.of(item.event)
    if not item.grouped:
        _end_reads(session)
    with deadline(float(app.config["HUB_RUN_TIMEOUT"])):
        for hook, resource in calls:
            ctx.calls_are_for(hook)
            result = plugins.call_one(item.run.plugin, hook, ctx=ctx, event=info, **resource)
            if result is not None:
                raise PermanentError(
                    f"{hook} returned {type(result).__name__}; event hooks return None."
                )


def _context(
    app: AppLike, session: AnySession, item: Claimed, contexts: dict[int, PluginContext] | None
) -> PluginContext:
    """The run's context; a db-only plugin's runs in one batch share their integration's
    (building one costs more than such a hook), each with its own copy of the config."""
    if contexts is None or not item.grouped:
        return build_context(app, session, item.integration)
    ctx = contexts.get(item.integration.id)
    if ctx is None:
        ctx = contexts[item.integration.id] = build_context(app, session, item.integration)
    else:
        ctx.config = dict(item.integration.config or {})
    return ctx


def perform(
    app: AppLike,
    session: AnySession,
    item: Claimed,
    table: HookTable | None = None,
    contexts: dict[int, PluginContext] | None = None,
) -> Outcome:
    """Call the run's hooks (its event hook, then on_event) under one deadline.

    `contexts`: the batch's shared contexts of db-only plugins (see :func:`_context`).
    """
    table = table or HookTable(app.extensions["hub.plugins"])
    refusal = _refusal(table.plugins, item)
    if refusal is not None:
        return refusal
    scope_to_org(session, item.org.id)
    try:
        _call_hooks(app, session, table, item, contexts)
        if item.grouped:
            session.flush()  # what the hook added: a failure to write it is the hook's
    except (Exception, HookTimeout) as exc:
        log.warning("run %s (%s, %s) failed: %r", item.run.id, item.run.plugin, item.event.id, exc)
        return outcome_of(exc)
    finally:
        scope_to_org(session, None)
    return OK


def unscoped(session: AnySession) -> AnySession:
    """The session a scoped session stands for now: a batch resolves it once, where every
    use of the proxy would look up the app context again (Flask-SQLAlchemy's scope; about
    eight times per run). Hooks get the same session object either way."""
    return session() if isinstance(session, scoped_session) else session


def _end_reads(session: AnySession) -> None:
    """Close a transaction only reads opened (objects reloaded after an earlier rollback),
    so a hook never starts inside one: on SQLite it would hold the write lock."""
    real = session() if isinstance(session, scoped_session) else session
    if real.in_transaction() and not (real.new or real.dirty or real.deleted):
        real.commit()


def _touched(session: AnySession) -> bool:
    """Did the hook leave work in the session (so its run commits on its own)?"""
    real = session() if isinstance(session, scoped_session) else session
    return bool(real.new or real.dirty or real.deleted) or real.in_transaction()


def _fence(items: Sequence[Claimed]) -> Any:
    """These runs at the attempt we claimed (a re-claimed run has moved on)."""
    by_attempt: dict[int, list[int]] = defaultdict(list)
    for item in items:
        by_attempt[item.attempts].append(item.run.id)
    return or_(*(and_(Run.attempts == n, among(Run.id, ids)) for n, ids in by_attempt.items()))


class Batch:
    """Records a batch's outcomes: successes together, anything else at once."""

    def __init__(self, app: AppLike, session: AnySession, lease_until: datetime) -> None:
        self.app = app
        self.session = session
        self.lease_until = lease_until
        self.successes: list[Claimed] = []
        self.group: list[Claimed] = []  # db-only runs whose work is not committed yet

    def record(self, item: Claimed, outcome: Outcome) -> None:
        if outcome.ok and item.grouped:
            self.successes.append(item)
            self.group.append(item)
            if len(self.group) >= GROUP_COMMIT:
                self.commit()
            return
        if outcome.ok:
            try:
                if _touched(self.session):
                    self.session.commit()  # the hook's own work, before the next hook runs
                self.successes.append(item)
                return
            except SQLAlchemyError as exc:
                outcome = Outcome("error", f"Saving the hook's changes failed: {exc}"[:2000])
        self.rollback()
        self.write_successes()
        record_failure(self.session, self.app.config, item, outcome)
        self.commit()

    def write_successes(self) -> None:
        if not self.successes:
            return
        now = clock.now()
        by_attempt: dict[int, list[int]] = defaultdict(list)
        for item in self.successes:  # at the attempt claimed (a re-claimed run has moved on)
            by_attempt[item.attempts].append(item.run.id)
        for attempt, ids in by_attempt.items():
            self.session.execute(_SUCCEEDED, {"s_ids": ids, "s_attempt": attempt, "s_now": now})
        integrations = list({item.integration.id for item in self.successes})
        self.session.execute(_INTEGRATIONS_OK, {"s_ids": integrations, "s_now": now})
        self.successes = []

    def rollback_group(self) -> list[Claimed]:
        """Roll back the open transaction; the grouped runs whose work it held."""
        self.rollback()
        lost, self.group = self.group, []
        self.successes = [item for item in self.successes if item not in lost]
        return lost

    def commit(self) -> None:
        """Commit the successes (and the grouped hooks' work). If that fails, the group's
        work is lost: its runs go back to the queue to be performed again."""
        grouped, self.group = bool(self.group), []
        unwritten = list(self.successes)
        try:
            self.write_successes()
            self.session.commit()
        except SQLAlchemyError:
            if not grouped:
                raise
            log.warning("committing %d runs failed; they are queued again", len(unwritten))
            self.rollback()
            self.successes = []
            self.release(unwritten)

    def rollback(self) -> None:
        """Drop what a failed hook left; a connection it broke is discarded."""
        try:
            self.session.rollback()
        except SQLAlchemyError:
            self.session.close()

    def keep_lease(self, remaining: Sequence[Claimed]) -> None:
        """Renew the leases of the runs still to do when the current one runs low."""
        config = self.app.config
        now = clock.now()
        if (self.lease_until - now).total_seconds() > config["HUB_RUN_TIMEOUT"] + LEASE_MARGIN:
            return
        self.lease_until = now + timedelta(seconds=float(config["HUB_RUN_LEASE"]))
        self.session.execute(
            update(Run)
            .where(_fence(remaining), Run.state == "running")
            .values(lease_until=self.lease_until)
            .execution_options(synchronize_session=False)
        )
        self.commit()

    def release(self, remaining: Sequence[Claimed]) -> None:
        """Give back runs not started (the worker is stopping): queued, attempt not counted."""
        self.session.execute(
            update(Run)
            .where(_fence(remaining), Run.state == "running")
            .values(state="queued", attempts=Run.attempts - 1, lease_until=None, enqueued_at=None)
            .execution_options(synchronize_session=False)
        )
        self.commit()


def execute_runs(
    app: AppLike,
    session: AnySession,
    run_ids: Sequence[int],
    should_stop: Callable[[], bool] | None = None,
) -> int:
    """Claim and perform these runs (those still queued and due); how many were claimed."""
    if not run_ids:
        return 0
    session = unscoped(session)
    scope_to_org(session, None)
    claimed = claim(session, run_ids, float(app.config["HUB_RUN_LEASE"]))
    items = load(session, app.extensions["hub.plugins"], claimed) if claimed else []
    session.commit()
    return perform_batch(app, session, items, should_stop)


def dispatch_and_execute(
    app: AppLike,
    session: AnySession,
    event_ids: list[str],
    should_stop: Callable[[], bool] | None = None,
) -> int:
    """Create these events' runs already claimed by this worker, and perform them."""
    session = unscoped(session)
    scope_to_org(session, None)
    plugins: PluginManager = app.extensions["hub.plugins"]
    created = create_runs(session, plugins, event_ids, float(app.config["HUB_RUN_LEASE"]))
    items = [
        claimed_run(plugins, new.run, 1, new.event, new.integration, new.org) for new in created
    ]
    return perform_batch(app, session, items, should_stop)


def perform_batch(
    app: AppLike,
    session: AnySession,
    items: Sequence[Claimed],
    should_stop: Callable[[], bool] | None = None,
) -> int:
    """Perform claimed runs one by one, stopping early when asked; how many there were.

    Db-only plugins' runs go first (each plugin's runs keep their order), so they share
    commits and no other hook runs while their transaction is open.
    """
    items = sorted(items, key=lambda item: not item.grouped)
    lease = float(app.config["HUB_RUN_LEASE"])
    batch = Batch(app, session, clock.now() + timedelta(seconds=lease))
    table = HookTable(app.extensions["hub.plugins"])
    contexts: dict[int, PluginContext] = {}
    for index, item in enumerate(items):
        if should_stop is not None and should_stop():
            batch.commit()
            batch.release(items[index:])
            break
        if not item.grouped and batch.group:
            batch.commit()
        batch.keep_lease(items[index:])
        outcome = perform(app, session, item, table, contexts)
        if not outcome.ok:
            contexts.clear()  # a failure rolls back: later runs get fresh contexts
        if outcome.kind in REFUSED and batch.group:
            batch.commit()  # no hook ran: the open transaction holds only the group's work
        elif not outcome.ok and batch.group:
            for lost in batch.rollback_group():
                alone = replace(lost, grouped=False)  # committed on its own this time
                batch.record(alone, perform(app, session, alone, table))
        batch.record(item, outcome)
    batch.commit()
    return len(items)
