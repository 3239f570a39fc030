"""Mycelium Hub. This module is the public API for plugin authors; nothing else is promised.

Plugins import from ``hub`` (and ``hub.testing`` in their tests), never from ``hub.core``.
"""

from __future__ import annotations

from hub.context import EventInfo, IntegrationInfo, OrgInfo, PluginContext
from hub.core.clients import render_client
from hub.core.clock import now
from hub.core.db import after_commit, before_commit, insert_ignoring_conflicts, row_check
from hub.core.deliverables import complete_deliverable, render_deliverable
from hub.core.models import Base as Model
from hub.core.models import Client, Deliverable, OrgScoped, ServiceType, User
from hub.core.retention import Retention
from hub.core.schemas import StrictBoolean
from hub.core.signatures import (
    InvalidSignature,
    generate_webhook_secret,
    sign_webhook,
    verify_hmac_signature,
    verify_webhook,
)
from hub.core.socket_deadline import attempt_deadline
from hub.core.webhooks.policy import DEFAULT_SCHEDULE as WEBHOOK_RETRY_SCHEDULE
from hub.core.webhooks.policy import Policy as RetryPolicy
from hub.core.webhooks.policy import parse_retry_after
from hub.egress import EgressPolicy, check_host, check_url, egress_session
from hub.errors import (
    Conflict,
    EgressRefused,
    Forbidden,
    HubError,
    NeedsReauth,
    NotFound,
    PermanentError,
    RateLimited,
    ValidationError,
)
from hub.hookspecs import (
    RegisterCommand,
    RegisterConsolePage,
    RegisterJob,
    RegisterModels,
    RegisterProvider,
    RegisterRoute,
    RegisterSandbox,
)
from hub.plugins import hookimpl
from hub.provider import (
    ConsolePage,
    HealthResult,
    OAuth2,
    Provider,
    RateLimits,
    Sandbox,
    SandboxServer,
    Setting,
    Token,
    Work,
)
from hub.sandbox_pages import SandboxPages
from hub.web import (
    Caller,
    UserInfo,
    admin_route,
    api_route,
    context_for,
    current_caller,
    current_context,
    db_session,
    disable_integration,
    enqueue,
    enqueue_after_commit,
    event_types,
    find_integration,
    own_body_limit,
    public_route,
    report_needs_reauth,
    run_in_background,
    set_external_account_id,
)

__version__ = "0.1.0"
"""The hub's version."""

__all__ = [
    "WEBHOOK_RETRY_SCHEDULE",
    "Caller",
    "Client",
    "Conflict",
    "ConsolePage",
    "Deliverable",
    "EgressPolicy",
    "EgressRefused",
    "EventInfo",
    "Forbidden",
    "HealthResult",
    "HubError",
    "IntegrationInfo",
    "InvalidSignature",
    "Model",
    "NeedsReauth",
    "NotFound",
    "OAuth2",
    "OrgInfo",
    "OrgScoped",
    "PermanentError",
    "PluginContext",
    "Provider",
    "RateLimited",
    "RateLimits",
    "RegisterCommand",
    "RegisterConsolePage",
    "RegisterJob",
    "RegisterModels",
    "RegisterProvider",
    "RegisterRoute",
    "RegisterSandbox",
    "Retention",
    "RetryPolicy",
    "Sandbox",
    "SandboxPages",
    "SandboxServer",
    "ServiceType",
    "Setting",
    "StrictBoolean",
    "Token",
    "User",
    "UserInfo",
    "ValidationError",
    "Work",
    "__version__",
    "admin_route",
    "after_commit",
    "api_route",
    "attempt_deadline",
    "before_commit",
    "check_host",
    "check_url",
    "complete_deliverable",
    "context_for",
    "current_caller",
    "current_context",
    "db_session",
    "disable_integration",
    "egress_session",
    "enqueue",
    "enqueue_after_commit",
    "event_types",
    "find_integration",
    "generate_webhook_secret",
    "hookimpl",
    "insert_ignoring_conflicts",
    "now",
    "own_body_limit",
    "parse_retry_after",
    "public_route",
    "render_client",
    "render_deliverable",
    "report_needs_reauth",
    "row_check",
    "run_in_background",
    "set_external_account_id",
    "sign_webhook",
    "verify_hmac_signature",
    "verify_webhook",
]
