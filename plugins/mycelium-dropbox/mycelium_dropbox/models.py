"""The plugin's tables: client folders, uploads (and the files they made), what the sync
knows of each file, and the sync cursor."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from hub import Model, OrgScoped, Retention, now


class ClientFolder(OrgScoped, Model):
    """A client's folder in Dropbox: the stored path is the truth (moves follow it)."""

    __tablename__ = "dropbox_client_folders"
    __table_args__ = (
        UniqueConstraint("org_id", "client_id"),
        UniqueConstraint("org_id", "path_lower", name="uq_dropbox_client_folders_path"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int]  # no foreign key: the row outlives the client (its archive)
    path: Mapped[str] = mapped_column(String(1024))
    path_lower: Mapped[str] = mapped_column(String(1024))
    shared_link: Mapped[str | None] = mapped_column(String(2000))
    archived: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=now)


class Upload(OrgScoped, Model):
    """An upload through the hub: queued, uploading, succeeded or failed; once succeeded,
    the file it made (listed by ``GET files``)."""

    __tablename__ = "dropbox_uploads"
    __table_args__ = (
        Index("ix_dropbox_uploads_due", "state", "next_attempt_at"),
        Index("ix_dropbox_uploads_client", "org_id", "client_id", "deliverable_id"),
    )
    # failed uploads are history; succeeded ones are the record of the files (kept)
    __retention__ = Retention(when="finished_at", state="state", finished=("failed",))

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int]
    deliverable_id: Mapped[int | None]
    service_type: Mapped[str | None] = mapped_column(String(100))
    client_visible: Mapped[bool] = mapped_column(default=False)
    name: Mapped[str] = mapped_column(String(255))
    target: Mapped[str] = mapped_column(String(1024))  # the path asked for
    spool: Mapped[str | None] = mapped_column(String(255))  # file under HUB_VAR_DIR
    size: Mapped[int] = mapped_column(BigInteger)
    content_hash: Mapped[str] = mapped_column(String(64))  # computed while receiving
    state: Mapped[str] = mapped_column(String(16), default="queued")
    session_id: Mapped[str | None] = mapped_column(String(255))
    bytes_sent: Mapped[int] = mapped_column(BigInteger, default=0)  # Dropbox confirmed
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(default=now)
    lease_until: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    file_id: Mapped[str | None] = mapped_column(String(255))
    path: Mapped[str | None] = mapped_column(String(1024))  # where Dropbox put it
    rev: Mapped[str | None] = mapped_column(String(64))
    shared_link: Mapped[str | None] = mapped_column(String(2000))
    user_id: Mapped[int | None]
    user_name: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=now)
    finished_at: Mapped[datetime | None]


class KnownFile(OrgScoped, Model):
    """What the sync last saw of a file under a client's folder (its rev), so each
    (path, rev) is announced once; uploads through the hub are recorded here too."""

    __tablename__ = "dropbox_known_files"
    __table_args__ = (UniqueConstraint("org_id", "path_lower"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    path_lower: Mapped[str] = mapped_column(String(1024))
    path: Mapped[str] = mapped_column(String(1024))
    client_id: Mapped[int]
    rev: Mapped[str | None] = mapped_column(String(64))  # None once deleted
    seen_at: Mapped[datetime] = mapped_column(default=now)


class SyncState(OrgScoped, Model):
    """Per organization: the list_folder cursor on the tree's root."""

    __tablename__ = "dropbox_sync_state"
    __table_args__ = (UniqueConstraint("org_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    root: Mapped[str] = mapped_column(String(1024))
    cursor: Mapped[str | None] = mapped_column(Text)
    last_sync_at: Mapped[datetime | None]
