"""The registration hooks' `register` callables are typed and exported from `hub`, and the
plugins shipped here annotate with them instead of `Any`."""

from __future__ import annotations

import ast
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, get_args

import click
import pytest
from flask import Blueprint

import hub
from hub import hookspecs

REPO = Path(__file__).resolve().parents[2]
PACKAGES = sorted(
    p.parent
    for pattern in ("plugins/*/pyproject.toml", "examples/*/pyproject.toml")
    for p in REPO.glob(pattern)
)
EXPECTED = {
    "register_providers": ("RegisterProvider", [hub.Provider]),
    "register_routes": ("RegisterRoute", [Blueprint]),
    "register_jobs": ("RegisterJob", [str, str, Callable[..., Any]]),
    "register_commands": ("RegisterCommand", [click.Command]),
    "register_models": ("RegisterModels", [str | os.PathLike[str]]),
    "register_console_pages": ("RegisterConsolePage", [hub.ConsolePage]),
    "register_sandbox": ("RegisterSandbox", [hub.Sandbox]),
}


@pytest.mark.parametrize("hook", sorted(EXPECTED))
def test_each_registration_hook_names_its_typed_callable(hook: str) -> None:
    name, params = EXPECTED[hook]
    spec = getattr(hookspecs, hook)
    assert spec.__annotations__["register"] == name
    assert name in hub.__all__
    alias = getattr(hub, name)
    assert alias is getattr(hookspecs, name)
    assert get_args(alias) == (params, None)  # register(...) -> None


def test_every_registration_hook_is_covered() -> None:
    specs = {n for n in vars(hookspecs) if n.startswith("register_")}
    assert specs == set(EXPECTED)


def _register_annotations(path: Path) -> dict[str, str]:
    """`def register_*(register: <annotation>)` in a file: hook name -> annotation source."""
    found = {}
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.FunctionDef) and node.name.startswith("register_"):
            for arg in node.args.args:
                if arg.arg == "register":
                    found[node.name] = ast.unparse(arg.annotation) if arg.annotation else ""
    return found


@pytest.mark.parametrize("package", PACKAGES, ids=lambda p: p.name)
def test_shipped_plugins_annotate_register_with_its_type(package: Path) -> None:
    found = {}
    for path in package.rglob("*.py"):
        found.update(_register_annotations(path))
    assert found, f"{package.name} implements no registration hook"
    wrong = {
        hook: annotation
        for hook, annotation in found.items()
        if annotation.removeprefix("hub.") != EXPECTED[hook][0]
    }
    assert wrong == {}, "annotate `register` with hub.Register<Thing>"
