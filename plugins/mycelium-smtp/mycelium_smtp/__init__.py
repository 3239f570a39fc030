"""Mycelium Hub plugin: branded email through the agency's own SMTP server.

The hooks below only delegate: templates and rendering in ``templates.py``, MIME in
``messages.py``, the SMTP session in ``transport.py``, the queue in ``queue.py`` and
``delivery.py``, who gets what in ``notify.py``, digests in ``digests.py``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hub import (
    ConsolePage,
    EventInfo,
    HealthResult,
    PluginContext,
    Provider,
    RegisterConsolePage,
    RegisterJob,
    RegisterModels,
    RegisterProvider,
    RegisterRoute,
    Setting,
    Work,
    hookimpl,
)
from mycelium_smtp import (
    checks,
    event_routes,
    jobs,
    notify,
    people_routes,
    routes,
    suppression_routes,
    tracking,
    verify,
)
from mycelium_smtp.config import SmtpConfigSchema
from mycelium_smtp.delivery import EMAIL

__version__ = "0.1.0"

PROVIDER = Provider(
    name="smtp",
    title="Email (SMTP)",
    description="Branded email from the agency's own mail server or provider: notifications, "
    "client welcomes, daily and weekly digests, the monthly report.",
    version=__version__,
    config_schema=SmtpConfigSchema,
    auth="credentials",
    events=(
        "deliverable.due_soon",
        "deliverable.overdue",
        "deliverable.completed",
        "client.created",
        "integration.enabled",
        *notify.ALERTS,
    ),
    event_types={
        "email.failed": "An email failed for good (refused, or out of retries).",
        **tracking.EVENT_TYPES,
    },
    # the event hooks only queue rows (sending is the queue jobs' work): runs share commits
    db_only_hooks=True,
    work=(Work(EMAIL, 1.0, "An email the mail server accepted for its recipients."),),
    settings=(
        Setting("SMTP_CA_FILE", None, "Extra CA certificates (PEM) trusted for SMTP TLS."),
        Setting("SMTP_TIMEOUT", "15", "Seconds an SMTP command may take while sending."),
        Setting("SMTP_TEST_TIMEOUT", "10", "Seconds for the connection test on enabling."),
        Setting("SMTP_EHLO_HOSTNAME", None, "Name given in EHLO (default: this host's name)."),
        Setting("SMTP_MAX_RETRIES", "3", "Retries of a deferred email (after 2, 4, 8... min)."),
        Setting("SMTP_DIGEST_HOUR", "9", "Local hour at which digests go out."),
        Setting("SMTP_DIGEST_CATCH_UP_HOURS", "3", "Hours after it a late digest may still go."),
        Setting("SMTP_VERIFY_ON_ENABLE", "true", "Test connect, TLS and login when enabling."),
        Setting("SMTP_TEMPLATE_RENDER_SECONDS", "2", "Seconds one email's templates may render."),
        Setting("SENDGRID_API_BASE", "https://api.sendgrid.com", "SendGrid's API (v3)."),
        Setting("MAILGUN_API_BASE", "https://api.mailgun.net", "Mailgun's API (US region)."),
        Setting("POSTMARK_API_BASE", "https://api.postmarkapp.com", "Postmark's API."),
        Setting(
            "DEFAULT_SMTP_PROVIDER",
            None,
            "Transport of a config naming none and no server: sendgrid, mailgun or postmark.",
        ),
        Setting("SENDGRID_API_KEY", None, "SendGrid key used when a config has none.", True),
        Setting("MAILGUN_API_KEY", None, "Mailgun key used when a config has none.", True),
        Setting("MAILGUN_DOMAIN", None, "Mailgun sending domain used when a config has none."),
    ),
)


__all__ = ["PROVIDER", "event_routes", "people_routes", "suppression_routes"]


@hookimpl
def register_providers(register: RegisterProvider) -> None:
    register(PROVIDER)


@hookimpl
def register_models(register: RegisterModels) -> None:
    register(Path(__file__).parent / "migrations" / "versions")


@hookimpl
def register_routes(register: RegisterRoute) -> None:
    register(routes.bp)  # people_routes and suppression_routes add theirs to the same one


@hookimpl
def register_jobs(register: RegisterJob) -> None:
    register("queue", "* * * * *", jobs.process_queue)  # fans out one job per org with mail
    register("digests", "0 * * * *", jobs.send_digests)  # called once per enabled org


@hookimpl
def on_deliverable_due(ctx: PluginContext, event: EventInfo, deliverable: dict[str, Any]) -> None:
    notify.deliverable_reminder(ctx, event, deliverable, "deliverable_due")


@hookimpl
def on_deliverable_overdue(
    ctx: PluginContext, event: EventInfo, deliverable: dict[str, Any]
) -> None:
    notify.deliverable_reminder(ctx, event, deliverable, "deliverable_overdue")


@hookimpl
def on_deliverable_completed(
    ctx: PluginContext, event: EventInfo, deliverable: dict[str, Any]
) -> None:
    notify.deliverable_completed(ctx, event, deliverable)


@hookimpl
def on_client_created(ctx: PluginContext, event: EventInfo, client: dict[str, Any]) -> None:
    notify.client_welcome(ctx, event, client)


@hookimpl
def on_integration_enabled(
    ctx: PluginContext, event: EventInfo, integration: dict[str, Any]
) -> None:
    if integration.get("plugin") == "smtp":
        notify.welcome_admins(ctx, event)


@hookimpl
def on_event(ctx: PluginContext, event: EventInfo) -> None:
    notify.admin_alert(ctx, event)


@hookimpl
def check_config(config: dict[str, Any], settings: Any) -> None:
    verify.check(config, settings)


@hookimpl
def health_check(ctx: PluginContext) -> HealthResult:
    return checks.health(ctx)


@hookimpl
def send_test_message(ctx: PluginContext, user: dict[str, Any] | None) -> str:
    return checks.send_test(ctx, user)


@hookimpl
def register_console_pages(register: RegisterConsolePage) -> None:
    register(
        ConsolePage(
            name="emails",
            title="Emails",
            description="The organization's emails, newest first, and what became of each.",
            source="emails",
            columns=(
                ("template", "Template"),
                ("subject", "Subject"),
                ("to", "To"),
                ("status", "Status"),
                ("retries", "Retries"),
                ("scheduled_for", "Scheduled for"),
            ),
        )
    )
    register(
        ConsolePage(
            name="templates",
            title="Email templates",
            description="Every email type, its variables, and whether you customized it. "
            "Pick one to edit it: the preview shows it in your organization's branding.",
            source="templates",
            columns=(("type", "Type"), ("description", "What it is"), ("customized", "Yours")),
            key="type",
            item="templates/<type>",
            form="PUT templates/<type>",
            form_title="Save the template",
            preview="POST templates/<type>/preview",
        )
    )
