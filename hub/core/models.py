"""Core tables: organizations, people, keys, the agency's domain, and the event outbox."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
    event,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import (
    DeclarativeBase,
    Mapped,
    declared_attr,
    mapped_column,
    registry,
    relationship,
)

from hub.core import clock

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Stores UTC, returns timezone-aware UTC on every database (SQLite keeps no zone)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return value.replace(tzinfo=UTC) if value is not None else None

    def bind_processor(self, dialect: Dialect) -> Callable[[Any], Any] | None:
        """The bind processing of :meth:`process_bind_param` (and the dialect's own), with
        the last two values remembered: a batch's rows carry the same ``now`` in several
        columns each (a run row a lease time beside it), and each one cost a conversion
        and (SQLite) a string formatting. One instance of this type serves every datetime
        column, so with one remembered value the lease time pushed out ``now``."""
        process = super().bind_processor(dialect)
        if process is None:
            return None
        blank = (None, process(None))
        # ((value, result), (value, result)), newest first; read and replaced whole, so
        # another thread's swap never pairs a value with another's result
        last = [(blank, blank)]

        def remembered(value: Any) -> Any:
            newest, older = last[0]
            if value is newest[0]:  # the same object (held here, so its id is not reused)
                return newest[1]
            if value is older[0]:
                return older[1]
            result = process(value)
            last[0] = ((value, result), newest)
            return result

        return remembered


class Base(DeclarativeBase):
    """Model base for the core and for plugins' own tables.

    SQLAlchemy 2.0 declarative (``Mapped[...]`` columns), with the hub's naming convention
    for constraints and indexes, and ``datetime`` columns stored as UTC and read back
    timezone-aware on every database.
    """

    registry = registry(
        metadata=MetaData(naming_convention=NAMING),
        type_annotation_map={datetime: UTCDateTime(), dict[str, Any]: JSON},
    )


@event.listens_for(Table, "after_parent_attach")
def _ids_never_reused(table: Table, parent: Any) -> None:
    """Every table of the core and of plugins is made with SQLite's AUTOINCREMENT.

    Without it SQLite hands the id of the newest deleted row to the next insert, so an id
    the API once showed (a webhook endpoint, a plugin's subscription) could name another
    object. PostgreSQL's sequences never go back. Set here, on the shared model base, so a
    plugin's tables get it too; migrations must say it as well (`sqlite_autoincrement=True`).
    """
    if parent is Base.metadata:
        table.dialect_options["sqlite"]["autoincrement"] = True


class OrgScoped:
    """Mixin for rows that belong to one organization; queries are scoped to it automatically.

    It adds ``org_id`` (indexed; the rows go when their organization does). Put it before
    the base: ``class Note(hub.OrgScoped, hub.Model)``.
    """

    @declared_attr
    def org_id(cls) -> Mapped[int]:
        return mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"), index=True)


class Timestamped:
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
    updated_at: Mapped[datetime] = mapped_column(default=clock.now, onupdate=clock.now)


class Organization(Timestamped, Base):
    __tablename__ = "organizations"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    company_name: Mapped[str | None] = mapped_column(String(200))
    logo_url: Mapped[str | None] = mapped_column(String(2048))
    primary_color: Mapped[str | None] = mapped_column(String(7))
    support_email: Mapped[str | None] = mapped_column(String(254))
    due_soon_hours: Mapped[int] = mapped_column(default=24)


class User(OrgScoped, Timestamped, Base):
    """A member of an organization's team; ``role`` is ``admin`` or ``member``."""

    __tablename__ = "users"
    __table_args__ = (UniqueConstraint("org_id", "email"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254))
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16), default="member")


class ApiKey(OrgScoped, Base):
    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(200), default="")
    prefix: Mapped[str] = mapped_column(String(32), unique=True)
    key_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]

    user: Mapped[User | None] = relationship(lazy="joined")


class ServiceType(OrgScoped, Base):
    """A kind of work the agency offers (``Video``, ``Branding``); clients and
    deliverables name theirs."""

    __tablename__ = "service_types"
    __table_args__ = (UniqueConstraint("org_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(default=clock.now)


client_service_types = Table(
    "client_service_types",
    Base.metadata,
    Column("client_id", ForeignKey("clients.id", ondelete="CASCADE"), primary_key=True),
    Column("service_type_id", ForeignKey("service_types.id", ondelete="CASCADE"), primary_key=True),
)


class Client(OrgScoped, Timestamped, Base):
    """A client of the agency: an organization's customer, with its service types."""

    __tablename__ = "clients"
    __table_args__ = (UniqueConstraint("org_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    contact_person: Mapped[str | None] = mapped_column(String(200))
    contact_email: Mapped[str | None] = mapped_column(String(254))
    notes: Mapped[str | None] = mapped_column(Text)

    service_types: Mapped[list[ServiceType]] = relationship(
        secondary=client_service_types, lazy="selectin", order_by=ServiceType.id
    )


class Deliverable(OrgScoped, Timestamped, Base):
    """A piece of work due for a client: assignee, due time, priority, status."""

    __tablename__ = "deliverables"
    __table_args__ = (Index("ix_deliverables_org_due", "org_id", "status", "due_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id", ondelete="CASCADE"), index=True)
    service_type_id: Mapped[int | None] = mapped_column(
        ForeignKey("service_types.id", ondelete="SET NULL")
    )
    title: Mapped[str] = mapped_column(String(300))
    description: Mapped[str | None] = mapped_column(Text)
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    due_at: Mapped[datetime | None]
    priority: Mapped[str] = mapped_column(String(16), default="normal")
    status: Mapped[str] = mapped_column(String(16), default="todo")
    completed_at: Mapped[datetime | None]
    completed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    client_visible: Mapped[bool] = mapped_column(Boolean, default=False)

    client: Mapped[Client] = relationship(lazy="joined")
    service_type: Mapped[ServiceType | None] = relationship(lazy="joined")
    assignee: Mapped[User | None] = relationship(foreign_keys=[assignee_id], lazy="joined")
    completed_by: Mapped[User | None] = relationship(foreign_keys=[completed_by_id], lazy="joined")


class Event(OrgScoped, Base):
    """The outbox: written in the same transaction as the change it records."""

    __tablename__ = "events"
    __table_args__ = (
        Index("ix_events_org_seq", "org_id", "seq"),
        Index("ix_events_undispatched", "dispatched_at", "seq"),
        Index("ix_events_created_at", "created_at"),
    )

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(40), unique=True)
    type: Mapped[str] = mapped_column(String(100))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
    dispatched_at: Mapped[datetime | None]


class Integration(OrgScoped, Timestamped, Base):
    """One plugin for one organization: its config, encrypted secrets and standing."""

    __tablename__ = "integrations"
    __table_args__ = (
        UniqueConstraint("org_id", "plugin"),
        Index("ix_integrations_external", "plugin", "external_account_id"),
        # an external account (a provider's workspace) belongs to one enabled integration
        Index(
            "uq_integrations_enabled_account",
            "plugin",
            "external_account_id",
            unique=True,
            sqlite_where=text("enabled = 1 AND external_account_id IS NOT NULL"),
            postgresql_where=text("enabled AND external_account_id IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    plugin: Mapped[str] = mapped_column(String(64))
    enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    # enabled | disabled | needs_reauth | not_connected (an OAuth plugin waiting for its connect)
    status: Mapped[str] = mapped_column(String(16), default="disabled")
    config: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # field -> ciphertext (KeyRing, bound to org, integration and field); tokens live here too
    secrets: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    external_account_id: Mapped[str | None] = mapped_column(String(255))
    connected_at: Mapped[datetime | None]
    token_expires_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    last_error_at: Mapped[datetime | None]
    last_success_at: Mapped[datetime | None]
    consecutive_errors: Mapped[int] = mapped_column(default=0)
    disabled_reason: Mapped[str | None] = mapped_column(Text)


class Run(OrgScoped, Base):
    """One (event x integration) unit of work. The database is the truth; RQ only carries it."""

    __tablename__ = "runs"
    __table_args__ = (
        UniqueConstraint("event_id", "integration_id"),
        Index("ix_runs_state_next", "state", "next_attempt_at"),
        Index("ix_runs_org_created", "org_id", "id"),
        # what the retention job compares with its cutoff (hub/core/retention.py)
        Index("ix_runs_finished", text("coalesce(finished_at, updated_at)")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[str] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"))
    integration_id: Mapped[int] = mapped_column(
        ForeignKey("integrations.id", ondelete="CASCADE"), index=True
    )
    plugin: Mapped[str] = mapped_column(String(64))
    event_type: Mapped[str] = mapped_column(String(100))
    # queued | running | succeeded | failed
    state: Mapped[str] = mapped_column(String(16), default="queued")
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=clock.now)
    lease_until: Mapped[datetime | None]
    enqueued_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
    updated_at: Mapped[datetime] = mapped_column(default=clock.now, onupdate=clock.now)
    finished_at: Mapped[datetime | None]
