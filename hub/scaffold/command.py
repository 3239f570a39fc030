"""`hub plugin ...`: commands for plugin authors (they need no app, database or Redis)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from hub.scaffold import NameRefused, new_plugin

NEXT_STEPS = """
Next, in {folder}:
  pip install -e '.[test]'   the hub finds the plugin through its entry point
  pytest                     its tests pass as written
  hub plugins                lists {name}
"""


@click.group("plugin")
def plugin_group() -> None:
    """For plugin authors: `hub plugin new NAME` starts a plugin package."""


@plugin_group.command("new")
@click.argument("name")
@click.option(
    "--dir",
    "folder",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Folder to create (default ./mycelium-NAME); it must not exist, or be empty.",
)
@click.option("--title", default=None, help="What admins see (default: NAME in title case).")
@click.option("--description", default=None, help="One line on what the plugin does.")
@click.pass_context
def new(
    ctx: click.Context,
    name: str,
    folder: Path | None,
    title: str | None,
    description: str | None,
) -> None:
    """Write a new plugin package NAME: pyproject with the entry point, a Provider with one
    hook, a config schema, tests on hub.testing that pass as written, a README."""
    root = ctx.find_root().command
    commands = root.commands if isinstance(root, click.Group) else {}
    try:
        names, written_to, files = new_plugin(
            name, folder, title=title, description=description, hub_commands=commands
        )
    except NameRefused as exc:
        click.echo(f"Error: {exc}", err=True)
        sys.exit(2)
    click.echo(f"{names.distribution}: plugin {names.name!r} in {written_to}", err=True)
    for path in files:
        click.echo(f"  {path}", err=True)
    click.echo(NEXT_STEPS.format(folder=written_to, name=names.name).rstrip(), err=True)
    click.echo(written_to)
