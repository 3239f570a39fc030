"""The plugin's own table: rows carry org_id and are scoped to the caller's organization."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

import hub


class Note(hub.OrgScoped, hub.Model):
    __tablename__ = "example_notes"
    __table_args__ = (UniqueConstraint("org_id", "event_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    body: Mapped[str] = mapped_column(Text)
    event_id: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(default=hub.now)
