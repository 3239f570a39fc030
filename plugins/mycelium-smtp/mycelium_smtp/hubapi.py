"""What the plugin needs from the hub outside hooks, in one place.

Hooks get their context from the hub. The queue and digest jobs (``register_jobs``) and
the urgent-send job run without one, so they build the context of an organization's
enabled ``smtp`` integration here, from public pieces only: :class:`hub.PluginContext`,
the model base's registry, and the app's documented extensions (``hub.keyring``,
``hub.redis``). Jobs are put on the hub's RQ queue, which ``hub worker`` runs inside an
app context.
"""

from __future__ import annotations

from typing import Any

import requests
from flask import current_app
from rq import Queue
from sqlalchemy import select

from hub import Model, PluginContext, db_session

PLUGIN = "smtp"
session = db_session
QUEUE = "hub"


def _model(table_name: str) -> Any:
    for mapper in Model.registry.mappers:
        if getattr(mapper.local_table, "name", None) == table_name:
            return mapper.class_
    raise LookupError(table_name)


def integration_context(db: Any, org_id: int) -> PluginContext | None:
    """The context the plugin's hooks would get for this org; None unless it is enabled."""
    integration, organization = _model("integrations"), _model("organizations")
    row = db.scalar(
        select(integration).where(integration.org_id == org_id, integration.plugin == PLUGIN)
    )
    if row is None or not row.enabled or row.status != "enabled":
        return None
    plugins = current_app.extensions["hub.plugins"]
    return PluginContext(
        session=db,
        org=db.get(organization, org_id),
        integration=row,
        provider=plugins.provider(PLUGIN),
        keyring=current_app.extensions["hub.keyring"],
        settings=current_app.config,
        http=requests.Session(),
        redis=current_app.extensions["hub.redis"],
    )


def enqueue(redis: Any, function: str, *args: Any) -> None:
    """Put a job (ids only) on the hub's queue; running one twice is harmless (rows are
    claimed before sending)."""
    Queue(QUEUE, connection=redis).enqueue(
        function, *args, job_timeout=600, result_ttl=0, failure_ttl=7 * 86400
    )
