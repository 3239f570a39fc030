"""Whether the database's schema is the one this code was written for.

The code knows its migration heads (the core's and one per installed plugin); the database
records the revisions applied to it in ``alembic_version``. A head of the code missing from
the database means the schema is older than the code (``hub db upgrade`` has not run): the
web process is not ready and a worker refuses to start. A revision the code does not know
means newer code already migrated it (an upgrade rolling out, migrations before code): the
old processes keep serving until they are replaced.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection

from hub.core.migrations import alembic_config


@dataclass(frozen=True)
class CodeRevisions:
    """The migration revisions this code (core and installed plugins) ships."""

    heads: frozenset[str]
    known: frozenset[str]


@dataclass(frozen=True)
class SchemaState:
    """The database's schema compared with the code's."""

    missing: tuple[str, ...]  # heads of the code the database has not reached
    unknown: tuple[str, ...]  # revisions applied by code newer than this

    @property
    def behind(self) -> bool:
        """Older than the code (nothing newer applied meanwhile): run `hub db upgrade`."""
        return bool(self.missing) and not self.unknown

    def describe(self) -> str:
        """ "ok", "ahead: ..." (newer code migrated it) or "behind: ..." (an upgrade is due)."""
        if self.behind:
            return f"behind: {', '.join(self.missing)} not applied (run `hub db upgrade`)"
        if self.unknown:
            return f"ahead: {', '.join(self.unknown)} applied by newer code"
        return "ok"


def code_revisions(plugin_version_dirs: Iterable[Path] = ()) -> CodeRevisions:
    """Read the migration scripts of the core and the plugins (once per process is enough)."""
    script = ScriptDirectory.from_config(alembic_config("sqlite://", plugin_version_dirs))
    known = frozenset(revision.revision for revision in script.walk_revisions())
    return CodeRevisions(heads=frozenset(script.get_heads()), known=known)


def database_heads(connection: Connection) -> frozenset[str]:
    """The revisions recorded in the database's ``alembic_version`` (empty before any)."""
    return frozenset(MigrationContext.configure(connection).get_current_heads())


def compare(code: CodeRevisions, applied: frozenset[str]) -> SchemaState:
    return SchemaState(
        missing=tuple(sorted(code.heads - applied)),
        unknown=tuple(sorted(applied - code.known)),
    )
