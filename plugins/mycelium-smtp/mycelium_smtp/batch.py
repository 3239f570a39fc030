"""Queueing many emails at once: each checked as a single email would be, all refused if
one is invalid, all written in one transaction.

What every email of a batch would look up on its own (the saved template of its type, the
suppression list's entries for its recipients) is looked up once, and the rows go to the
database in one bulk insert: 1,000 emails cost a few queries, not a few thousand.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from sqlalchemy import Table, insert, text

from hub import Caller, Forbidden, HubError, PluginContext, ValidationError, now
from mycelium_smtp import suppressions
from mycelium_smtp.access import check_recipients
from mycelium_smtp.catalog import TYPES
from mycelium_smtp.compose import Outgoing, prepare, source_for, stored
from mycelium_smtp.models import Email
from mycelium_smtp.templates import TemplateSource

MAX_BATCH = 1000


def outgoing(data: dict[str, Any], queued_by: int | None) -> Outgoing:
    """One request body (single or in a batch) as an email to queue."""
    scheduled = data["scheduled_for"]
    return Outgoing(
        template=data["template"],
        variables=data["variables"],
        to=data["to"],
        cc=data["cc"],
        bcc=data["bcc"],
        priority=data["priority"],
        scheduled_for=scheduled if scheduled and scheduled > now() else None,
        max_retries=data["max_retries"],
        queued_by=queued_by,
    )


def queue_batch(ctx: PluginContext, caller: Caller, items: Sequence[dict[str, Any]]) -> list[Email]:
    """Check and render every email, then store them all, or raise naming each bad one by
    its index (``{"emails": {"3": {"to.0": [...]}}}``) with nothing stored."""
    queued_by = caller.user.id if caller.user else None
    everyone = [a for item in items for name in ("to", "cc", "bcc") for a in item[name]]
    listed = suppressions.entries(ctx.db, ctx.org.id, everyone)
    sources: dict[str, TemplateSource] = {}
    rows: list[Email] = []
    errors: dict[str, dict[str, Any]] = {}
    forbidden = False
    for index, item in enumerate(items):
        try:
            check_recipients(ctx, caller, {name: item[name] for name in ("to", "cc", "bcc")})
            source = _source(ctx, sources, item["template"])
            rows.append(prepare(ctx, outgoing(item, queued_by), source, listed))
        except (ValidationError, Forbidden) as exc:
            forbidden = forbidden or isinstance(exc, Forbidden)
            errors[str(index)] = _details(exc)
    if errors:
        _refuse(errors, len(items), forbidden)
    insert_rows(ctx.db, rows)
    for row in rows:
        stored(ctx, row)
    return rows


def insert_rows(session: Any, rows: list[Email]) -> None:
    """Write new rows in a few statements (Core, not the unit of work's per-object
    bookkeeping); each row gets its id and timestamps as a flush would give them.

    PostgreSQL: the ids are taken from the table's sequence in one query (in order), then
    the rows go in as one executemany of a single-row INSERT, which psycopg sends in a
    pipeline and parses once. A multi-row INSERT of 1,000 rows carries 22,000 placeholders
    that psycopg parses again for every statement (too long for its cache): four times the
    CPU. SQLite: multi-row ``INSERT ... RETURNING id`` (SQLAlchemy's insertmanyvalues),
    cheap there, its ids in the batch's order when the rows make one statement (as
    they usually do, `_by_columns`)."""
    if not rows:
        return
    at = now()
    for row in rows:
        row.created_at = row.updated_at = at
    table = cast(Table, Email.__table__)
    if session.get_bind().dialect.name == "postgresql":
        for row, new_id in zip(rows, _reserve_ids(session, len(rows)), strict=True):
            row.id = new_id
    for columns, group in _by_columns(rows).items():
        values = [{k: vars(row).get(k) for k in columns} for row in group]
        if "id" in columns:  # ids already taken from the sequence
            session.execute(insert(table), values)
            continue
        stmt = insert(table).returning(table.c.id, sort_by_parameter_order=True)
        for row, new_id in zip(group, session.scalars(stmt, values).all(), strict=True):
            row.id = new_id


def _by_columns(rows: list[Email]) -> dict[tuple[str, ...], list[Email]]:
    """The rows by the columns their INSERT names. A column some rows set (a failed row's
    `last_error`) is named as NULL for the others when it has no default, as a flush would
    store it; so a batch is usually one statement and its ids follow its order."""
    table = cast(Table, Email.__table__)
    names = list(dict.fromkeys(k for row in rows for k in vars(row) if not k.startswith("_")))
    nullable = {k for k in names if not _has_default(table.c[k])}
    groups: dict[tuple[str, ...], list[Email]] = {}
    for row in rows:
        columns = tuple(k for k in names if k in vars(row) or k in nullable)
        groups.setdefault(columns, []).append(row)
    return groups


def _has_default(column: Any) -> bool:
    return column.default is not None or column.server_default is not None


def _reserve_ids(session: Any, count: int) -> list[int]:
    """`count` new ids from the emails' sequence (PostgreSQL), ascending like single
    inserts' ids; a rolled-back batch leaves a gap, as failed single inserts do."""
    query = text("SELECT nextval(pg_get_serial_sequence(:table, 'id')) FROM generate_series(1, :n)")
    return sorted(session.scalars(query, {"table": Email.__tablename__, "n": count}).all())


def _source(
    ctx: PluginContext, sources: dict[str, TemplateSource], name: str
) -> TemplateSource | None:
    """The type's template, read once per batch (None for an unknown type: prepare names it)."""
    if name not in sources and name in TYPES:
        sources[name] = source_for(ctx.db, ctx.org.id, name)
    return sources.get(name)


def _details(exc: HubError) -> dict[str, Any]:
    details = getattr(exc, "details", None)
    return dict(details) if isinstance(details, dict) and details else {"_schema": [str(exc)]}


def _refuse(errors: dict[str, dict[str, Any]], total: int, forbidden: bool) -> None:
    message = f"{len(errors)} of the {total} emails cannot be queued; none was queued."
    if forbidden:  # a member addressed a stranger: refused as the single email would be
        raise Forbidden(message, {"emails": errors})
    raise ValidationError(message, {"emails": errors})
