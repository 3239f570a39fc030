"""The email types the plugin sends, the variables each one declares, and sample values."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

Variables = dict[str, tuple[str, Any]]  # name -> (description, sample value)

_ITEM = {"title": "Homepage redesign", "client_name": "Globex", "due": "Fri 6 Mar, 17:00"}

# Filled in by the hub for every email, from the organization's branding and the recipient.
COMMON: Variables = {
    "organization_name": ("The agency's company name.", "Acme Studio"),
    "organization_logo": ("URL of the agency's logo, or empty.", ""),
    "primary_color": ("The agency's primary colour, #rrggbb.", "#4f46e5"),
    "app_url": ("The hub's public URL.", "https://hub.example.com"),
    "support_email": ("The agency's support address, or empty.", "help@acme.example"),
    "recipient_name": ("The recipient's name, when known.", "Dana Designer"),
    "recipient_email": ("The recipient's address.", "dana@acme.example"),
}

_DELIVERABLE: Variables = {
    "deliverable_title": ("The deliverable's title.", "Homepage redesign"),
    "client_name": ("The client it is for.", "Globex"),
    "due_at": ("Due date and time in the agency's time zone.", "Fri 6 Mar 2026, 17:00 GMT"),
    "priority": ("low, normal, high or urgent.", "high"),
    "assignee_name": ("Who it is assigned to.", "Dana Designer"),
    "deliverable_url": ("Link to the deliverable.", "https://hub.example.com/deliverables/7"),
}


@dataclass(frozen=True)
class EmailType:
    """One kind of email: its variables and whether a recipient may unsubscribe from it."""

    name: str
    description: str
    variables: Variables = field(default_factory=dict)
    # Sent because the recipient asked for it (a reset link): no unsubscribe link or header.
    transactional: bool = False

    def all_variables(self) -> Variables:
        return {**COMMON, **self.variables}

    def sample(self) -> dict[str, Any]:
        return {name: sample for name, (_, sample) in self.all_variables().items()}


TYPES: dict[str, EmailType] = {
    t.name: t
    for t in (
        EmailType(
            "user_invitation",
            "A person is invited to join the agency's workspace.",
            {
                "inviter_name": ("Who sent the invitation.", "Ada Admin"),
                "invite_url": ("Link that accepts it.", "https://hub.example.com/invite/abc"),
                "role": ("The role offered: admin or member.", "member"),
                "expires_at": ("When the link expires.", "Mon 9 Mar 2026"),
            },
        ),
        EmailType(
            "password_reset",
            "A reset link the user asked for.",
            {
                "reset_url": ("Link that sets a new password.", "https://hub.example.com/r/xyz"),
                "expires_in_minutes": ("Minutes the link stays valid.", 30),
            },
            transactional=True,
        ),
        EmailType(
            "deliverable_due", "To the assignee: a deliverable is due soon.", dict(_DELIVERABLE)
        ),
        EmailType(
            "deliverable_overdue", "To the assignee: a deliverable is overdue.", dict(_DELIVERABLE)
        ),
        EmailType(
            "deliverable_completed",
            "To the admins: a deliverable was completed.",
            {
                **_DELIVERABLE,
                "completed_by_name": ("Who completed it.", "Dana Designer"),
                "completed_at": ("When, in the agency's time zone.", "Thu 5 Mar 2026, 11:20 GMT"),
            },
        ),
        EmailType(
            "client_welcome",
            "To a new client's contact, when the agency turns it on.",
            {
                "client_name": ("The client's name.", "Globex"),
                "contact_name": ("The contact person.", "Hank Scorpio"),
                "services": ("Services the agency provides them.", ["Branding", "Web"]),
            },
        ),
        EmailType(
            "daily_digest",
            "09:00 each day, to users who opted in: their day.",
            {
                "date": ("The day, in the agency's time zone.", "Thu 5 Mar 2026"),
                "due_today": ("Deliverables due today: title, client_name, due.", [_ITEM]),
                "overdue": ("Overdue deliverables.", [_ITEM]),
                "completed": ("Completed since yesterday's digest.", [_ITEM]),
            },
        ),
        EmailType(
            "weekly_digest",
            "09:00 on Mondays, to users who opted in: their week.",
            {
                "week_start": ("Monday of the week.", "Mon 2 Mar 2026"),
                "week_end": ("Sunday of the week.", "Sun 8 Mar 2026"),
                "due_this_week": ("Deliverables due this week.", [_ITEM]),
                "overdue": ("Overdue deliverables.", [_ITEM]),
                "completed": ("Completed last week.", [_ITEM]),
            },
        ),
        EmailType(
            "monthly_report",
            "09:00 on the 1st, to users who opted in (admins by default): last month.",
            {
                "month": ("The month reported on.", "February 2026"),
                "created_count": ("Deliverables created.", 42),
                "completed_count": ("Deliverables completed.", 37),
                "on_time_rate": ("Percent completed by their due time.", 91),
                "overdue_count": ("Deliverables open and overdue now.", 3),
                "clients": (
                    "Per client: name, completed, open.",
                    [{"name": "Globex", "completed": 12, "open": 4}],
                ),
            },
        ),
        EmailType(
            "admin_alert",
            "To the admins: an integration needs attention.",
            {
                "alert_title": ("What happened, in a few words.", "Slack needs reconnecting"),
                "alert_message": ("Details.", "The token was revoked."),
                "event_type": ("The event behind it.", "integration.needs_reauth"),
                "action_url": ("Where to fix it.", "https://hub.example.com/settings"),
            },
        ),
    )
}


def email_type(name: str) -> EmailType | None:
    return TYPES.get(name)
