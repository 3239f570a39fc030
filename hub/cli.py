"""The `hub` command. Logs go to stderr; stdout holds only what a command prints for scripts."""

from __future__ import annotations

import json
import os
import sys
from typing import Any

import click
from flask import Flask, current_app
from flask.cli import FlaskGroup, ScriptInfo, with_appcontext

from hub.apikey_commands import apikey_group
from hub.app import create_app
from hub.cli_output import aligned, fail
from hub.config import load_config
from hub.console_commands import admin_link
from hub.core.orgs import create_org
from hub.errors import ConfigError, HubError
from hub.extensions import db
from hub.scaffold.command import plugin_group


def _app(**_: Any) -> Flask:
    return create_app()


class PluginCommands(click.Group):
    """A plugin's commands (`hub <plugin> ...`), run inside an app context."""

    def invoke(self, ctx: click.Context) -> Any:
        with ctx.ensure_object(ScriptInfo).load_app().app_context():
            return super().invoke(ctx)


class HubGroup(FlaskGroup):
    """The `hub` command: the core's commands, then each plugin's under its name."""

    def _plugin_group(self, ctx: click.Context, name: str) -> click.Command | None:
        from hub.plugins import get_plugins

        try:
            plugins = get_plugins(ctx.ensure_object(ScriptInfo).load_app())
        except Exception:  # no app (bad settings): the core's commands still work
            return None
        commands = plugins.commands(name) if name in plugins.names() else []
        if not commands:
            return None
        group = PluginCommands(name=name, help=f"Commands of the {name} plugin.")
        for command in commands:
            group.add_command(command)
        return group

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        return super().get_command(ctx, name) or self._plugin_group(ctx, name)

    def list_commands(self, ctx: click.Context) -> list[str]:
        from hub.plugins import get_plugins

        names = set(super().list_commands(ctx))
        try:
            plugins = get_plugins(ctx.ensure_object(ScriptInfo).load_app())
        except Exception:
            return sorted(names)
        return sorted(names | {n for n in plugins.names() if plugins.commands(n)})


@click.group(
    cls=HubGroup,
    create_app=_app,
    add_default_commands=False,
    load_dotenv=False,
    set_debug_flag=False,
)
def main() -> None:
    """Mycelium Hub: the integration hub of Mycelium OS."""


@main.group("db")
def db_group() -> None:
    """Database schema."""


@db_group.command("upgrade")
@with_appcontext
def db_upgrade() -> None:
    """Apply every migration of the core and the installed plugins."""
    from hub.core.migrations import upgrade
    from hub.plugins import get_plugins

    upgrade(current_app.config["HUB_DATABASE_URL"], get_plugins(current_app).migration_dirs())
    click.echo("database is up to date", err=True)


@main.group("org")
def org_group() -> None:
    """Organizations."""


@org_group.command("create")
@click.argument("name")
@click.option("--timezone", default="UTC", show_default=True, help="IANA time zone.")
@with_appcontext
def org_create(name: str, timezone: str) -> None:
    """Create an organization; prints its slug."""
    try:
        org = create_org(db.session, name, timezone)
        db.session.commit()
    except HubError as exc:
        fail(f"{exc.message} {exc.details}")
    click.echo(org.slug)


main.add_command(apikey_group)
main.add_command(admin_link)


@main.group("keys")
def keys_group() -> None:
    """Encryption key ring."""


@keys_group.command("rotate")
@with_appcontext
def keys_rotate() -> None:
    """Re-encrypt every stored secret with the newest key (safe while the hub serves)."""
    from sqlalchemy.orm import sessionmaker

    from hub.core.keyrotation import rotate_all

    keyring = current_app.extensions["hub.keyring"]
    report = rotate_all(sessionmaker(bind=db.engine), keyring)
    click.echo(
        f"{report.rotated} secrets re-encrypted with key {keyring.newest} "
        f"in {report.rows} rows; {len(report.failed)} failed"
    )
    for failure in report.failed:
        click.echo(f"failed: {failure}", err=True)
    if report.failed:
        sys.exit(1)


@keys_group.command("generate")
def keys_generate() -> None:
    """Print a new HUB_ENCRYPTION_KEYS entry (`<key id>:<base64 of 32 bytes>`)."""
    from hub.core.crypto import generate_entry

    click.echo(generate_entry())


def listen_on(host: str | None, port: int | None) -> tuple[str, int]:
    """--host / --port, else HUB_HOST / HUB_PORT; exported, so every process this one
    starts (gunicorn's workers, `hub up`'s children) builds its links for that address."""
    given = {"HUB_HOST": host, "HUB_PORT": None if port is None else str(port)}
    try:
        settings = load_config(overrides={k: v for k, v in given.items() if v is not None})
    except ConfigError as exc:
        fail(exc.message)
    os.environ["HUB_HOST"], os.environ["HUB_PORT"] = settings["HUB_HOST"], str(settings["HUB_PORT"])
    return settings["HUB_HOST"], settings["HUB_PORT"]


HOST_OPTION = click.option("--host", default=None, help="Listen address (HUB_HOST, 127.0.0.1).")
PORT_OPTION = click.option("--port", default=None, type=int, help="Port (HUB_PORT, 8000).")


@main.command("serve")
@HOST_OPTION
@PORT_OPTION
@click.option("--workers", default=None, type=int, help="Web processes (default 2 x cores).")
@click.option("--threads", default=4, show_default=True, type=int)
def serve(host: str | None, port: int | None, workers: int | None, threads: int) -> None:
    """Serve the web process with gunicorn (production WSGI server)."""
    from hub.api.status import open_metrics_refused
    from hub.server import run_gunicorn

    host, port = listen_on(host, port)
    warn_about_key_file()  # here, once, rather than in each web worker
    if open_metrics_refused({**load_config(), "HUB_SERVE_HOST": host}):
        click.echo(
            f"WARNING: {host} is reachable from other machines, so /metrics answers 403 "
            "until HUB_METRICS_TOKEN is set (then scrape it with that bearer token)",
            err=True,
        )
    run_gunicorn(host, port, workers, threads, lambda: create_app({"HUB_SERVE_HOST": host}))


def warn_about_key_file() -> None:
    """Read the key ring as the processes started next will: it warns if it is a file."""
    from pathlib import Path

    from hub.app import configure_logging
    from hub.core.crypto import KeyRing

    settings = load_config()
    configure_logging(settings["HUB_LOG_LEVEL"])
    KeyRing.from_settings(settings["HUB_ENCRYPTION_KEYS"], Path(settings["HUB_VAR_DIR"]))


@main.command("worker")
@click.option("--burst", is_flag=True, help="Stop when the queues are empty.")
def worker(burst: bool) -> None:
    """Run an RQ worker with the scheduler, inside an app context."""
    from sqlalchemy.exc import SQLAlchemyError

    from hub.core import heap
    from hub.worker import run_worker, schema_problem

    app = create_app()
    try:
        problem = schema_problem(app)
    except SQLAlchemyError as exc:
        fail(f"cannot read the database's schema version: {exc.__class__.__name__}: {exc}")
    if problem:
        fail(f"the database schema is {problem}; the worker does not start on it")
    heap.settle()  # what start-up made, out of the full collections' way (hub/core/heap.py)
    run_worker(app, burst=burst)


@main.command("up")
@HOST_OPTION
@PORT_OPTION
@click.option(
    "--sandbox",
    is_flag=True,
    help="Also run each plugin's provider emulator on loopback, point the plugins at them "
    "and seed a demo organization (docs/sandbox.md).",
)
def up(host: str | None, port: int | None, sandbox: bool) -> None:
    """Everything on one box: embedded Redis if REDIS_URL is unset, web and one worker."""
    from hub.up import run_up

    sys.exit(run_up(*listen_on(host, port), sandbox=sandbox))


@main.command("plugins")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@with_appcontext
def plugins(as_json: bool) -> None:
    """List installed plugins: version, distribution, auth, hooks."""
    from hub.plugin_info import describe_all
    from hub.plugins import get_plugins

    described = describe_all(get_plugins(current_app))
    if as_json:
        click.echo(json.dumps(described, indent=2))
        return
    click.echo(plugin_table(described))


main.add_command(plugin_group)  # `hub plugin new NAME`


def plugin_table(described: list[dict[str, Any]]) -> str:
    """A readable table: one plugin per row."""
    header = ("NAME", "VERSION", "DISTRIBUTION", "AUTH", "EVENTS", "HOOKS")
    rows = [header] + [
        (
            p["name"],
            p["version"] or "-",
            p["distribution"] or "-",
            p["auth"]["kind"],
            str(len(p["events"])),
            ", ".join(p["hooks"]),
        )
        for p in described
    ]
    return aligned(rows)


if __name__ == "__main__":
    main()
