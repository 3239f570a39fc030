"""`hub plugin new NAME`: a new plugin package whose tests pass as written.

The package is the shape of the hub's own example plugin: a pyproject with the ``mycelium``
entry point, ``__version__``, the Provider and one documented hook in ``__init__.py``, the
config schema in ``config.py``, tests on ``hub.testing`` (the first one proves the entry
point is installed) and a README. The files come from ``template/`` with ``$placeholders``
filled in; they are written beside the target folder and moved into place at once, so a
failure leaves no half-made plugin behind.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterable
from pathlib import Path
from string import Template

from hub.scaffold.names import NameRefused, PluginNames, plugin_names

__all__ = ["NameRefused", "PluginNames", "new_plugin", "plugin_names", "render"]

TEMPLATE = Path(__file__).resolve().parent / "template"


def _target_name(relative: Path, names: PluginNames) -> Path:
    """Where a template file goes: ``package/`` is the import package, ``.tmpl`` goes."""
    parts = [names.package if part == "package" else part for part in relative.parts]
    if parts[-1] == "test_plugin.py.tmpl":
        parts[-1] = f"test_{names.name}.py"  # unique basenames beside other plugins' tests
    elif parts[-1] == "gitignore.tmpl":
        parts[-1] = ".gitignore"
    return Path(*parts).with_name(parts[-1].removesuffix(".tmpl"))


def render(names: PluginNames) -> dict[Path, str]:
    """Every file of the new package (relative path -> text)."""
    values = names.substitutions()
    files = {}
    for source in sorted(TEMPLATE.rglob("*")):
        if source.is_file():
            text = source.read_text(encoding="utf-8")
            relative = source.relative_to(TEMPLATE)
            files[_target_name(relative, names)] = Template(text).substitute(values)
    return files


def _check_folder(folder: Path) -> None:
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise NameRefused(f"{folder} exists and is not an empty folder; choose another with --dir.")
    if not folder.parent.is_dir():
        raise NameRefused(f"{folder.parent} is not a folder.")


def new_plugin(
    name: str,
    folder: Path | None = None,
    *,
    title: str | None = None,
    description: str | None = None,
    hub_commands: Iterable[str] = (),
) -> tuple[PluginNames, Path, list[Path]]:
    """Write a new plugin package into `folder` (default ``./mycelium-<name>``).

    Returns its names, the folder and the files written (relative to it). Raises
    NameRefused, having written nothing, for a bad or taken name or a folder in use.
    """
    names = plugin_names(name, title, description, hub_commands)
    folder = (folder or Path(names.distribution)).absolute()
    _check_folder(folder)
    files = render(names)
    staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}-", dir=folder.parent))
    try:
        for relative, text in files.items():
            (staging / relative).parent.mkdir(parents=True, exist_ok=True)
            (staging / relative).write_text(text, encoding="utf-8")
        staging.chmod(0o777 & ~_umask())
        os.rename(staging, folder)  # replaces an empty folder, refuses a full one
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return names, folder, sorted(files)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
