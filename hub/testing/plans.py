"""PostgreSQL's plan of a statement as the hub sends it: for tests that a statement reads
what it must and no more, whatever the statistics or the plan cache say.

A plugin's tests use it as the hub's do (``docs/writing_plugins.md``, "A statement's plan")::

    with db.engine.connect() as conn:
        plan = generic_plan(conn, statement, org_id=1)
        conn.rollback()
    assert rows_read(plan) < 50
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import BindParameter, Connection, bindparam
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.visitors import replacement_traverse


def _literal(value: Any) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, list):
        return "'{" + ",".join(str(item) for item in value) + "}'"
    return f"'{value.replace(tzinfo=None).isoformat() if hasattr(value, 'tzinfo') else value}'"


def generic_plan(conn: Connection, statement: ClauseElement, **params: Any) -> dict[str, Any]:
    """EXPLAIN ANALYZE of `statement` as PostgreSQL runs it once psycopg has prepared it
    (a statement run five times on a connection): planned once for any parameters.
    `params` give values to the statement's bound parameters by key. It runs (an
    ``UPDATE`` changes rows): roll the connection back afterwards."""

    def given(element: Any) -> Any:  # `params` as the values of the statement's parameters
        if isinstance(element, BindParameter) and element.key in params and not element.expanding:
            return bindparam(element.key, params[element.key], type_=element.type)
        return None

    statement = replacement_traverse(statement, {}, given)  # type: ignore[call-overload]
    compiled = statement.compile(dialect=conn.dialect, compile_kwargs={"render_postcompile": True})
    names: list[str] = []

    def numbered(match: re.Match[str]) -> str:
        if match.group(1) not in names:
            names.append(match.group(1))
        return f"${names.index(match.group(1)) + 1}"

    sql = re.sub(r"%\((\w+)\)s", numbered, str(compiled))
    conn.exec_driver_sql("SET plan_cache_mode = force_generic_plan")
    conn.exec_driver_sql(f"PREPARE probe AS {sql}")
    try:
        args = ", ".join(_literal(compiled.params[name]) for name in names)
        execute = f"EXECUTE probe({args})" if names else "EXECUTE probe"
        found = conn.exec_driver_sql(f"EXPLAIN (ANALYZE, FORMAT JSON) {execute}").scalar()
    finally:  # a prepared statement outlives a rollback: the connection goes back clean
        conn.exec_driver_sql("DEALLOCATE probe")
    plan: dict[str, Any] = found[0]["Plan"]  # type: ignore[index]
    return plan


def rows_read(plan: dict[str, Any]) -> int:
    """Rows the plan's scans read: those they returned and those their filters dropped."""
    own: int = 0
    if "Scan" in plan["Node Type"] and "CTE" not in plan["Node Type"]:
        own = plan["Actual Rows"] * plan["Actual Loops"] + plan.get("Rows Removed by Filter", 0)
    return own + sum(rows_read(child) for child in plan.get("Plans", []))
