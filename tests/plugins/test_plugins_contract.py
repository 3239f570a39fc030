"""The contract with plugin authors: every hook documented with its exact signature, tested
by a `test_hook_<name>`, named by its family; plugins use only the public API."""

from __future__ import annotations

import ast
import importlib
import inspect
import re
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pluggy
import pytest

from hub import hookspecs

REPO = Path(__file__).resolve().parents[2]
DOC = REPO / "docs" / "plugin_hooks.md"
PLUGIN_DIRS = sorted(p.parent for p in REPO.glob("plugins/*/pyproject.toml"))
PACKAGE_DIRS = PLUGIN_DIRS + sorted(p.parent for p in REPO.glob("examples/*/pyproject.toml"))

QUERY = {"refresh_token", "send_test_message", "prepare_disconnect"}
QUERY_BEFORE_CONTEXT = {"check_config"}  # runs before the integration exists: no ctx
COLLECTION = {"health_check"}
PARTICIPLES_WITHOUT_ED = {"due", "overdue"}  # deliverable.due_soon / deliverable.overdue


def specs() -> dict[str, Callable[..., Any]]:
    return {
        name: fn
        for name, fn in vars(hookspecs).items()
        if callable(fn) and hasattr(fn, "mycelium_spec")
    }


def signature(fn: Callable[..., Any]) -> str:
    """``name(arg: Type, ...) -> Return``, the annotations as written in hookspecs.py."""
    sig = inspect.signature(fn)
    params = ", ".join(f"{p.name}: {p.annotation}" for p in sig.parameters.values())
    return f"{fn.__name__}({params}) -> {sig.return_annotation}"


def hook_tests() -> set[str]:
    """Names X of every `def test_hook_X` under tests/ and plugins/*/tests/."""
    files = [*REPO.glob("tests/**/*.py"), *REPO.glob("plugins/*/tests/**/*.py")]
    found: set[str] = set()
    for path in files:
        found.update(re.findall(r"^\s*def test_hook_(\w+)\(", path.read_text(), re.M))
    return found


def test_there_are_hooks_to_check() -> None:
    assert len(specs()) >= 24


@pytest.mark.parametrize("name", sorted(specs()))
def test_every_hook_is_documented_with_its_exact_signature(name: str) -> None:
    doc = DOC.read_text()
    assert f"\n### {name}\n" in doc, f"docs/plugin_hooks.md has no section for {name}"
    expected = signature(specs()[name])
    section = doc.split(f"\n### {name}\n", 1)[1].split("\n### ", 1)[0]
    assert expected in section, f"docs/plugin_hooks.md: {name} must show `{expected}`"
    assert "Runs in:" in section and "@hub.hookimpl" in section  # when, and an example


def test_every_hook_has_a_test() -> None:
    missing = sorted(set(specs()) - hook_tests())
    assert not missing, f"add a test named test_hook_<name> for: {', '.join(missing)}"


@pytest.mark.parametrize("name", sorted(specs()))
def test_naming_families_hold(name: str) -> None:
    fn = specs()[name]
    params = list(inspect.signature(fn).parameters)
    firstresult = fn.mycelium_spec["firstresult"]  # type: ignore[attr-defined]
    if name.startswith("register_"):
        assert params == ["register"] and not firstresult
    elif name == "on_event":
        assert params == ["ctx", "event"] and not firstresult
    elif name.startswith("on_"):
        match = re.fullmatch(r"on_([a-z_]+)_([a-z]+)", name)
        assert match, f"{name}: on_<noun>_<past participle>"
        noun, participle = match.groups()
        assert participle.endswith("ed") or participle in PARTICIPLES_WITHOUT_ED, name
        assert params == ["ctx", "event", noun] and not firstresult
    elif name in QUERY:
        assert firstresult and params[0] == "ctx"
    elif name in QUERY_BEFORE_CONTEXT:
        assert firstresult and params == ["config", "settings"]
    else:
        assert name in COLLECTION and not firstresult and params[0] == "ctx"


@pytest.mark.parametrize("name", sorted(specs()))
def test_every_spec_is_annotated_and_says_where_it_runs(name: str) -> None:
    fn = specs()[name]
    sig = inspect.signature(fn)
    assert all(p.annotation is not inspect.Parameter.empty for p in sig.parameters.values())
    assert sig.return_annotation is not inspect.Signature.empty
    assert "Runs in:" in (fn.__doc__ or "")


def _entry_points(package_dir: Path) -> dict[str, str]:
    project = tomllib.loads((package_dir / "pyproject.toml").read_text())["project"]
    return project.get("entry-points", {}).get("mycelium", {})


@pytest.mark.parametrize("package_dir", PLUGIN_DIRS, ids=lambda p: p.name)
def test_plugins_pass_check_pending(package_dir: Path) -> None:
    entry_points = _entry_points(package_dir)
    assert entry_points, f"{package_dir.name}: no [project.entry-points.mycelium]"
    for name, module in entry_points.items():
        pm = pluggy.PluginManager("mycelium")
        pm.add_hookspecs(hookspecs)
        pm.register(importlib.import_module(module), name=name)
        pm.check_pending()


def hub_core_imports(path: Path) -> list[str]:
    """`import hub.core...` / `from hub.core... import` / `from hub import core` in a file."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [a.name for a in node.names if a.name.split(".")[:2] == ["hub", "core"]]
        elif isinstance(node, ast.ImportFrom) and node.module:
            parts = node.module.split(".")
            if parts[:2] == ["hub", "core"] or (
                parts == ["hub"] and any(a.name == "core" for a in node.names)
            ):
                found.append(node.module)
    return found


@pytest.mark.parametrize("package_dir", PACKAGE_DIRS, ids=lambda p: p.name)
def test_plugins_import_nothing_from_hub_core(package_dir: Path) -> None:
    offenders = {
        str(path.relative_to(REPO)): hub_core_imports(path)
        for path in package_dir.rglob("*.py")
        if hub_core_imports(path)
    }
    assert offenders == {}, "plugins import only `hub` and `hub.testing`"


def test_the_import_scan_finds_core_imports(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text("import hub\nfrom hub.core.models import Client\nfrom hub import core\n")
    assert hub_core_imports(sample) == ["hub.core.models", "hub"]


def test_every_installed_plugins_config_fields_are_described() -> None:
    """Admins fill config forms from GET /api/plugins: each field says what it is."""
    from hub.plugin_info import describe_all
    from hub.plugins import Plugins

    undescribed = {
        (plugin["name"], field["name"])
        for plugin in describe_all(Plugins())
        for field in plugin["config"]
        if not field["description"].strip()
    }
    assert not undescribed
