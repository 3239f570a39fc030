"""What a plugin's own routes and jobs use: public routes, the caller, contexts, the
session, the job queue and the event catalogue.

A plugin's blueprint is mounted at ``/api/integrations/<name>/``. Its routes need an API
key of the organization (and are scoped to it) unless marked :func:`public_route`, in which
case the plugin verifies the request itself (a provider's signature) and finds the
organization with :func:`find_integration`.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import marshmallow
from flask import current_app, g
from rq import Queue

from hub.context import OrgInfo, PluginContext
from hub.core.background import loop_for
from hub.core.connections import integrations
from hub.core.connections.context import build_context
from hub.core.connections.integration_rows import check_account_free
from hub.core.connections.tokens import mark_needs_reauth
from hub.core.db import AnySession, after_commit, scope_to_org
from hub.core.models import Integration
from hub.core.runs.pending import QUEUE
from hub.errors import NeedsReauth, NotFound
from hub.extensions import db
from hub.plugins import get_plugins

F = TypeVar("F", bound=Callable[..., Any])
PUBLIC_MARK = "_hub_public_route"
ROLE_MARK = "_hub_route_role"
SCHEMA_MARK = "_hub_route_schema"
BODY_LIMIT_MARK = "_hub_body_limit_setting"


def public_route(view: F) -> F:
    """Mark a plugin view public: no API key; the plugin verifies the request itself."""
    setattr(view, PUBLIC_MARK, True)
    return view


def admin_route(view: F) -> F:
    """Mark a plugin view as needing an admin API key (other routes take any key)."""
    setattr(view, ROLE_MARK, "admin")
    return view


def own_body_limit(setting: str) -> Callable[[F], F]:
    """Give a plugin view its own request-body limit, the integer setting named `setting`,
    instead of ``HUB_MAX_BODY_BYTES`` (an upload route): a body past it is a 413. The body,
    chunked or not, is left unread for the view to stream (``request.stream``, or a form
    parser with its own stream factory), so nothing holds it in memory."""

    def decorate(view: F) -> F:
        setattr(view, BODY_LIMIT_MARK, setting)
        return view

    return decorate


def api_route(
    summary: str | None = None,
    *,
    body: type[marshmallow.Schema] | None = None,
    query: type[marshmallow.Schema] | None = None,
    response: type[marshmallow.Schema] | dict[str, Any] | None = None,
    many: bool = False,
    status: int = 200,
    media_type: str = "application/json",
    partial: bool = False,
    form: dict[str, Any] | None = None,
    responses: dict[int, str | tuple[str, Any]] | None = None,
) -> Callable[[F], F]:
    """Declare what a plugin view takes and answers, with the schemas it validates with.

    Before the view runs, the query string is loaded with `query` and the JSON body with
    `body` (marshmallow schema classes) and passed as ``query=`` / ``body=``; a bad field is a
    400 naming it. Both appear in ``/api/openapi.json``, with `response` (a schema class; a
    page of them with `many`; or a plain JSON schema dict, e.g. a top-level array), `status`,
    and `media_type` (``text/html`` for a page a person opens). A view without `query`
    refuses any query parameter. `partial` (a PATCH) loads the body with none of its fields
    required and no defaults filled in. `summary` defaults to the docstring's first line.

    `form` documents a ``multipart/form-data`` body that the view reads itself (an upload
    streamed to disk): a JSON schema of an object whose properties are the form's fields, a
    file being ``{"type": "string", "format": "binary"}``; nothing is loaded for the view.
    `responses` documents answers besides `status` (a queued ``202``, a ``413``): status to
    a description, or to ``(description, schema)`` with a schema class or a JSON schema
    dict; an error status given a description alone has the API's error body.
    """

    def decorate(view: F) -> F:
        from hub.api.routing import EndpointDoc, parse_input

        doc = EndpointDoc(
            summary or (view.__doc__ or view.__name__).strip().splitlines()[0],
            body=body,
            query=query,
            response=response,
            many=many,
            status=status,
            media_type=media_type,
            partial=partial,
            form=form,
            responses=dict(responses or {}),
        )

        @functools.wraps(view)
        def wrapper(**kwargs: Any) -> Any:
            parse_input(kwargs, doc, refuse_other_body=False)
            return view(**kwargs)

        setattr(wrapper, SCHEMA_MARK, doc)
        return wrapper  # type: ignore[return-value]

    return decorate


@dataclass(frozen=True)
class UserInfo:
    """A team member, as a plugin route sees the caller's user."""

    id: int
    """The user's id."""
    email: str
    """Their email address."""
    name: str
    """Their name."""
    role: str
    """``"admin"`` or ``"member"``."""


@dataclass(frozen=True)
class Caller:
    """Who called an authenticated plugin route: the org, the key's user (if any), the role."""

    org: OrgInfo
    """The calling key's organization."""
    user: UserInfo | None
    """The user the key is tied to; None for a key tied to nobody."""
    role: str
    """The key's role: ``"admin"`` or ``"member"``."""


def db_session() -> AnySession:
    """The hub's database session for this request or job (plugins never open their own)."""
    return db.session


def _caller_or_fail() -> Any:
    found = g.get("caller")
    if found is None or g.get("hub_plugin") is None:
        raise RuntimeError("only inside an authenticated route of a plugin")
    return found


def current_caller() -> Caller:
    """The caller of this authenticated plugin route."""
    found = _caller_or_fail()
    user = found.user
    info = UserInfo(user.id, user.email, user.name, user.role) if user is not None else None
    return Caller(org=OrgInfo.of(found.org), user=info, role=found.role)


def current_context() -> PluginContext:
    """The route's plugin context for the calling organization (404 if not enabled there)."""
    if g.get("hub_context") is None:
        name, org_id = g.hub_plugin, _caller_or_fail().org.id
        plugins = get_plugins(current_app)
        provider = integrations.require_provider(plugins.providers, name)
        row: Integration | None
        if provider.always_on:
            row = integrations.always_on_integration(db.session, org_id, name)
        else:
            row = integrations.find(db.session, org_id, name)
        if row is None or not row.enabled:
            raise NotFound(f"{provider.title} is not enabled for this organization.")
        g.hub_context = build_context(current_app, db.session, row)
    return g.hub_context


def find_integration(plugin: str, external_account_id: str) -> PluginContext | None:
    """The enabled integration of `plugin` that recorded this external account id, as a
    context; the session is then scoped to its organization. None if there is none."""
    row = integrations.find_by_account(db.session, plugin, external_account_id)
    if row is None:
        return None
    scope_to_org(db.session, row.org_id)
    return build_context(current_app, db.session, row)


def disable_integration(ctx: PluginContext, reason: str, forget_credentials: bool = True) -> None:
    """Disable `ctx`'s integration (the provider revoked access, the app was uninstalled):
    its OAuth tokens are forgotten and ``integration.disabled`` is recorded with `reason`."""
    row = ctx._row
    if forget_credentials:
        integrations.forget_credentials(row)
    integrations.disable(ctx.db, get_plugins(current_app).providers, row.org_id, row.plugin, reason)


def report_needs_reauth(ctx: PluginContext, error: NeedsReauth) -> bool:
    """What the hub does when a hook raises `error`, for work that is not a hook (a job
    whose call the provider refused for its credentials): `ctx`'s integration becomes
    ``needs_reauth`` and ``integration.needs_reauth`` is recorded once, with the error's
    message, in `ctx.db`'s transaction (the caller commits). Whether it changed anything.
    Saving the integration's config again (``PUT`` or ``PATCH``) makes a plugin without
    OAuth ``enabled`` again; an OAuth plugin is reconnected."""
    if ctx._row.status == "needs_reauth":  # already, in this transaction (not yet flushed)
        return False
    return mark_needs_reauth(ctx.db, ctx._row, error.message)


def set_external_account_id(ctx: PluginContext, account_id: str | None) -> None:
    """Record the provider's account id (a workspace, a team) on `ctx`'s integration, so
    :func:`find_integration` finds it when the provider calls a public route. An account
    belongs to one enabled integration of a plugin: another organization's is a Conflict
    (409 ``account_already_connected``)."""
    check_account_free(ctx.db, ctx._row, account_id)
    ctx._row.external_account_id = account_id
    ctx.integration = dataclasses.replace(ctx.integration, external_account_id=account_id)


def context_for(plugin: str, org_id: int) -> PluginContext | None:
    """The context `plugin`'s hooks get for organization `org_id`, for work that has none (a
    job, a provider's call to a public route); the session is then scoped to that
    organization. None unless the plugin is enabled there."""
    previous = db.session.info.get("org_id")
    scope_to_org(db.session, org_id)  # before the lookup: a job may serve several orgs
    row = integrations.find(db.session, org_id, plugin)
    if row is None or not row.enabled or row.status != "enabled":
        scope_to_org(db.session, previous)
        return None
    return build_context(current_app, db.session, row)


def enqueue(
    function: str | Callable[..., Any], *args: Any, at_front: bool = False, timeout: int = 600
) -> None:
    """Queue `function(*args)` for a worker, which runs it inside the app's context.

    Pass ids, not objects (the database is the truth; a job may run twice or, if Redis is
    lost, not at all, so keep the state a sweep can resume from in your tables). `function`
    is a callable or its dotted path.
    """
    queue = Queue(QUEUE, connection=current_app.extensions["hub.redis"])
    queue.enqueue(
        function,  # type: ignore[type-var]  # RQ takes a dotted path or a callable
        *args,
        job_timeout=timeout,
        result_ttl=0,
        failure_ttl=7 * 86400,
        at_front=at_front,
    )


def enqueue_after_commit(
    session: AnySession, function: str | Callable[..., Any], *args: Any
) -> None:
    """Queue `function(*args)` (as :func:`enqueue` does) once the transaction of `session`
    commits, and not at all if it rolls back: the job then finds the rows it was queued for."""
    after_commit(session, lambda: enqueue(function, *args))


def event_types() -> dict[str, str]:
    """Every event type the hub and its installed plugins emit, with its description."""
    return dict(current_app.extensions["hub.event_types"])


def run_in_background(name: str, work: Callable[[], bool]) -> None:
    """Have a thread of this process call `work()` in the app's context, round after round,
    until a round returns False (nothing left) with no call of this since it started.

    For outbound work that must not hold a worker: a job (or a hook) calls this and returns
    at once, and a slow destination then holds that thread, not the jobs every organization
    waits on. Calling it while the thread runs makes it go round once more; at most one
    thread per `name` and process. ``hub.testing.run_jobs`` waits for it to finish; a
    stopping worker starts no more rounds and waits for the current one (up to
    HUB_WEBHOOK_TIMEOUT + 5 s): claim work with leases, so what a killed worker held is
    taken up again when they expire.
    """
    app = current_app._get_current_object()  # type: ignore[attr-defined]

    def rounds(loop: Any) -> None:
        with app.app_context():
            try:
                while not loop.stopping.is_set():  # a stopping worker starts no round
                    ticket = loop.ticket()
                    if not work() and loop.finish(ticket):
                        return
            finally:
                db.session.remove()

    loop_for(app.extensions, name, rounds).wake()
