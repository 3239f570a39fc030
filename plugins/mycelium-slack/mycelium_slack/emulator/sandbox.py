"""`hub up --sandbox`'s Slack: the emulator with a consent page, a workspace whose people
share the demo organization's email addresses (so slash commands map to hub users), and its
page at ``/sandbox``."""

from __future__ import annotations

from mycelium_slack.emulator.server import Member, SlackEmulator

# The demo organization that `hub up --sandbox` seeds has these people (docs/sandbox.md).
MEMBERS = (
    Member("U0ADMIN", "admin@demo-agency.example", "Demo Admin"),
    Member("U0ANA", "ana@demo-agency.example", "Ana Lima"),
    Member("U0BEN", "ben@demo-agency.example", "Ben Okafor"),
)


def start(host: str, hub_url: str) -> SlackEmulator:
    """A Slack serving on `host` (loopback only) that sends slash commands to `hub_url`."""
    emulator = SlackEmulator(
        members=list(MEMBERS),
        page_size=100,
        consent=True,
        hub_url=hub_url.rstrip("/"),
        client_id="sandbox-slack-client",
        client_secret="sandbox-slack-secret",
        signing_secret="sandbox-slack-signing-secret",
    )
    return emulator.start(host)
