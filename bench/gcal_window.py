"""Google Calendar: a sweep of a window of 1,000 deliverables against the loopback emulator.

    REDIS_URL=redis://127.0.0.1:6379/1 .venv/bin/python bench/gcal_window.py \\
        [--deliverables 1000] [--changed 100] [--database-url postgresql://.../throwaway]

A throwaway database (SQLite by default) gets an organization, a client and N open
deliverables due within its 30-day window, and a connected Google Calendar integration whose
settings point at the plugin's emulator (in this process, over loopback HTTP). Then three
sweeps as the plugin's jobs run them (``window.sweep`` with the hub's context): the first
writes every event, the second finds nothing changed, the third follows C re-dated
deliverables. Each prints deliverables/s and the emulator's count of API requests per
deliverable. The hub's per-organization quota (100 calls a second) is off for the first run
of each sweep and on for a last run of the first sweep, where a rate-limited sweep waits the
time the quota says and resumes, as the 15-minute upkeep would (sooner).
"""

from __future__ import annotations

import argparse
import base64
import logging
import os
import secrets
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from flask import Flask
from mycelium_gcal import window
from mycelium_gcal.emulator import GoogleEmulator

import hub
from hub.app import create_app
from hub.core.connections import integrations, tokens
from hub.core.migrations import upgrade
from hub.core.models import Client, Deliverable
from hub.core.orgs import create_org
from hub.extensions import db
from hub.plugins import get_plugins, installed_migration_dirs
from hub.provider import Token

TOKEN = "ya29.bench-token"


def make_app(url: str, google: GoogleEmulator, var: Path) -> Flask:
    key = base64.b64encode(secrets.token_bytes(32)).decode()
    return create_app(
        {
            "HUB_DATABASE_URL": url,
            "REDIS_URL": os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/1"),
            "HUB_VAR_DIR": str(var),
            "HUB_SECRET_KEY": "bench",
            "HUB_ENCRYPTION_KEYS": f"bench:{key}",
            "HUB_LOG_LEVEL": "WARNING",
            "HUB_APP_URL": "http://127.0.0.1:9",
            **google.settings(),
        }
    )


def seed(app: Flask, count: int) -> int:
    """An organization with `count` deliverables and a connected integration; its id."""
    with app.app_context():
        org = create_org(db.session, f"Bench {secrets.token_hex(3)}", "Europe/London")
        client = Client(org_id=org.id, name="Globex")
        db.session.add(client)
        db.session.flush()
        start = hub.now()
        db.session.add_all(
            Deliverable(
                org_id=org.id,
                client_id=client.id,
                title=f"Deliverable {n}",
                due_at=start + timedelta(hours=1 + (n * 24 * 28) // count),
            )
            for n in range(count)
        )
        plugins, keyring = get_plugins(app), app.extensions["hub.keyring"]
        row = integrations.enable(db.session, plugins.providers, keyring, org.id, "gcal", {})
        expires = start + timedelta(days=1)
        tokens.store_token(keyring, row, Token(TOKEN, "1//bench", expires_at=expires))
        # an OAuth plugin waits as not_connected until it holds a token: enable it again
        integrations.enable(db.session, plugins.providers, keyring, org.id, "gcal", {})
        db.session.commit()
        return org.id


def sweep(app: Flask, org_id: int, google: GoogleEmulator, quota: bool) -> dict[str, Any]:
    """One sweep to completion; waits out the quota like the upkeep would."""
    calls_before, waited = len(google.calls()), 0.0
    with app.app_context():
        if not quota:
            app.extensions["hub.quota"] = lambda org_id, provider: None
        started = time.perf_counter()
        report = window.Report(complete=False)
        while not report.complete:
            ctx = hub.context_for("gcal", org_id)
            assert ctx is not None
            try:
                report = window.sweep(ctx)
            except hub.RateLimited as exc:
                db.session.rollback()
                waited += exc.retry_after
                time.sleep(exc.retry_after)
        seconds = time.perf_counter() - started
        db.session.remove()
    return {"seconds": seconds, "calls": len(google.calls()) - calls_before, "waited": waited}


def redate(app: Flask, org_id: int, count: int) -> None:
    with app.app_context():
        hub.context_for("gcal", org_id)  # scopes the session
        rows = db.session.scalars(
            db.select(Deliverable).where(Deliverable.org_id == org_id).limit(count)
        )
        for row in rows:
            assert row.due_at is not None
            row.due_at = row.due_at + timedelta(hours=2)
        db.session.commit()


def line(name: str, deliverables: int, result: dict[str, Any]) -> None:
    rate = deliverables / result["seconds"] if result["seconds"] else float("inf")
    print(
        f"{name:<34} {deliverables:>6} deliverables {result['seconds']:>7.2f} s "
        f"{rate:>8.0f}/s  {result['calls']:>5} API requests "
        f"({result['calls'] / deliverables:.2f} per deliverable)"
        + (f", waited {result['waited']:.1f} s on the quota" if result["waited"] else "")
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--deliverables", type=int, default=1000)
    parser.add_argument("--changed", type=int, default=100)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    google = GoogleEmulator().start()
    google.oauth.access_tokens[TOKEN] = None
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{tmp}/bench.db"
        upgrade(url, installed_migration_dirs())
        app = make_app(url, google, Path(tmp) / "var")
        org_id = seed(app, args.deliverables)
        line("first sweep (quota off)", args.deliverables, sweep(app, org_id, google, False))
        line("unchanged window", args.deliverables, sweep(app, org_id, google, False))
        redate(app, org_id, args.changed)
        line(f"{args.changed} re-dated", args.changed, sweep(app, org_id, google, False))
        other = seed(app, args.deliverables)
        line("first sweep (quota on, 100/s)", args.deliverables, sweep(app, other, google, True))
    google.stop()


if __name__ == "__main__":
    main()
