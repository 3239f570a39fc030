"""The health check: the configured calendar is readable with the connected account."""

from __future__ import annotations

from hub import HealthResult, HubError, PluginContext
from mycelium_gcal import access


def check(ctx: PluginContext) -> HealthResult:
    """``events.list`` with one result: proves the token and the calendar, and tells the
    calendar's own time zone (events are written in the organization's)."""
    calendar = str(access.config(ctx)["calendar_id"])
    if not access.connected(ctx):
        return HealthResult(False, "Google Calendar is not connected: connect an account.")
    try:
        page = access.calendar_client(ctx).list_page(calendar, maxResults=1)
    except HubError as exc:
        return HealthResult(False, exc.message, {"calendar_id": calendar})
    zone = page.get("timeZone")
    details = {
        "calendar_id": calendar,
        "calendar_time_zone": zone,
        "org_time_zone": ctx.org.timezone,
    }
    message = f"The calendar {calendar!r} is readable"
    if zone and zone != ctx.org.timezone:
        message += f"; it shows {zone}, events are written in {ctx.org.timezone}"
    return HealthResult(True, message + ".", details)
