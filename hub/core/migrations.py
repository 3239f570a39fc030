"""Schema migrations (Alembic): the core's history plus one branch per plugin."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from alembic import command
from alembic.config import Config

CORE_VERSIONS = Path(__file__).resolve().parent.parent / "migrations" / "versions"


def alembic_config(url: str, plugin_version_dirs: Iterable[Path] = ()) -> Config:
    config = Config()
    config.set_main_option("script_location", str(CORE_VERSIONS.parent))
    locations = [str(CORE_VERSIONS), *(str(path) for path in plugin_version_dirs)]
    config.set_main_option("version_locations", " ".join(locations))
    config.set_main_option("path_separator", "space")
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(url: str, plugin_version_dirs: Iterable[Path] = ()) -> None:
    """Bring the database at `url` to the newest schema of the core and every plugin."""
    command.upgrade(alembic_config(url, plugin_version_dirs), "heads")
