"""What the Google Calendar plugin declares to the hub: settings, OAuth, quotas, config."""

from __future__ import annotations

from importlib import metadata
from typing import Any

from marshmallow import RAISE, Schema, fields, validate

from hub import OAuth2, Provider, RateLimits, Setting, Work

DEFAULT_API_BASE = "https://www.googleapis.com/calendar/v3"
# The one scope the plugin needs: read and write events. events.list also answers the
# calendar's own time zone (``timeZone``), so no calendar-metadata scope is asked for.
SCOPES = ("https://www.googleapis.com/auth/calendar.events",)

# The units of work (usage features) the ROI report counts. The seed values no calendar
# work; two minutes is its figure for the nearest manual task (filing a file).
DEADLINE_EVENT = "deadline_event"
MEETING = "meeting"
WORK = (
    Work(DEADLINE_EVENT, 2.0, "A deliverable's deadline written to the team's calendar."),
    Work(MEETING, 2.0, "A client meeting put on the calendar, invitations sent."),
)

SETTINGS = (
    Setting("GOOGLE_CLIENT_ID", None, "Client ID of the hub's Google Cloud OAuth client."),
    Setting(
        "GOOGLE_CLIENT_SECRET", None, "Client secret of the hub's Google OAuth client.", secret=True
    ),
    Setting(
        "GOOGLE_AUTHORIZE_URL",
        "https://accounts.google.com/o/oauth2/v2/auth",
        "Google's OAuth 2.0 consent page.",
    ),
    Setting("GOOGLE_TOKEN_URL", "https://oauth2.googleapis.com/token", "Google's token endpoint."),
    Setting(
        "GOOGLE_REVOKE_URL",
        "https://oauth2.googleapis.com/revoke",
        "Where tokens are revoked on disconnect.",
    ),
    Setting("GOOGLE_CALENDAR_API_BASE", DEFAULT_API_BASE, "Base URL of the Calendar API v3."),
    Setting(
        "GCAL_MEETING_TIMEOUT",
        "5",
        "Seconds POST meetings waits for Google; past it a job writes the event.",
    ),
)

EVENT_TYPES = {
    "meeting.scheduled": "A client meeting is on the Google calendar (Meet link if asked).",
    "meeting.updated": "A client meeting changed: its time, title, attendees or Meet link.",
    "meeting.cancelled": "A client meeting was cancelled, in the hub or in Google Calendar.",
}
HANDLED = (
    "deliverable.created",
    "deliverable.updated",
    "deliverable.completed",
    "deliverable.deleted",
    "client.updated",
    "client.deleted",
    "organization.updated",
    "user.updated",
    "user.deleted",
    "integration.enabled",
    "integration.disabled",
)


class GcalConfigSchema(Schema):
    """An organization's Google Calendar settings (the seed's sync settings)."""

    class Meta:
        unknown = RAISE

    calendar_id = fields.String(
        load_default="primary",
        validate=validate.Length(min=1, max=255),
        metadata={"description": "The calendar written to: `primary` or a calendar's id."},
    )
    sync_deadlines = fields.Boolean(
        load_default=True, metadata={"description": "Keep a deadline event per deliverable."}
    )
    sync_meetings = fields.Boolean(
        load_default=False, metadata={"description": "Allow client meetings (POST meetings)."}
    )
    create_events = fields.Boolean(
        load_default=True,
        metadata={"description": "Add new events; false keeps only the existing ones true."},
    )
    reminder_minutes = fields.Integer(
        strict=True,
        load_default=60,
        validate=validate.Range(min=0, max=40320),
        metadata={"description": "Email reminder before a deadline (Google allows 4 weeks)."},
    )
    deadline_event_minutes = fields.Integer(
        strict=True,
        load_default=60,
        validate=validate.Range(min=1, max=1440),
        metadata={"description": "Length of a deadline event."},
    )
    sync_window_days = fields.Integer(
        strict=True,
        load_default=30,
        validate=validate.Range(min=1, max=365),
        metadata={"description": "Deliverables due within this many days get an event."},
    )


def config_of(stored: dict[str, Any] | None) -> dict[str, Any]:
    """The stored config with defaults filled in (it was validated when it was saved)."""
    loaded: dict[str, Any] = GcalConfigSchema().load(stored or {})
    return loaded


def _version() -> str:
    try:
        return metadata.version("mycelium-gcal")
    except metadata.PackageNotFoundError:  # pragma: no cover - running from a source tree
        return "0"


PROVIDER = Provider(
    name="gcal",
    title="Google Calendar",
    description="Deliverable deadlines on the team's calendar; client meetings with Meet links.",
    version=_version(),
    config_schema=GcalConfigSchema,
    auth="oauth2",
    oauth2=OAuth2(
        authorize_url_setting="GOOGLE_AUTHORIZE_URL",
        token_url_setting="GOOGLE_TOKEN_URL",
        client_id_setting="GOOGLE_CLIENT_ID",
        client_secret_setting="GOOGLE_CLIENT_SECRET",
        revoke_url_setting="GOOGLE_REVOKE_URL",
        scopes=SCOPES,
        # Google sends a refresh token only for offline access, and again only on consent.
        extra_authorize_params={"access_type": "offline", "prompt": "consent"},
    ),
    events=HANDLED,
    event_types=EVENT_TYPES,
    # The seed's quota: 1,000/minute, 100,000/hour, 1,000,000/day, bursts of 100.
    rate_limits=RateLimits(per_second=100, per_minute=1000, per_hour=100_000, per_day=1_000_000),
    settings=SETTINGS,
    work=WORK,
)
