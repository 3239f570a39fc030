"""A Slack user mapping that goes and comes back is a new row with a new id: no id of the
plugin's tables is ever given to another row."""

from __future__ import annotations

from typing import Any

from mycelium_slack import notify, users
from mycelium_slack.emulator import Member
from mycelium_slack.models import SlackUser
from slack_helpers import ADA, context
from sqlalchemy import select


def _sync(app: Any) -> list[int]:
    """Sync the workspace's members; the mapping rows' ids."""
    with app.app_context():
        ctx = context(app)
        users.sync_all(ctx.db, ctx.org.id, notify.slack_client(ctx))
        ctx.db.commit()
        return list(ctx.db.scalars(select(SlackUser.id).order_by(SlackUser.id)))


def test_a_mapping_removed_and_made_again_gets_a_new_id(app, org, connected):
    connected.members = [
        Member(ADA, org.admin.email, "Ada Admin"),
        Member("U0MAX", f"member@{org.org.slug}.example", "Max Member"),
    ]
    first, newest = _sync(app)
    connected.members = connected.members[:1]  # Max left the workspace
    assert _sync(app) == [first]
    connected.members.append(Member("U0MAX", f"member@{org.org.slug}.example", "Max Member"))
    assert _sync(app)[-1] > newest
