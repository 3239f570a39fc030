"""The floor plan's import rules, read from the source with `ast` (nothing imported):

- no import circle among the hub's modules or inside a plugin, counting imports made inside
  functions and under `TYPE_CHECKING` (they hide a circle, they do not remove it);
- nothing in `hub/core` imports upward: only the core itself, the plugin contract's data
  modules (`hub.provider`, `hub.errors`, `hub.context`) and `hub.config`, never
  `hub.plugins`, `hub.api`, `hub.app`, `hub.jobs` or the `hub` package;
- the plugin contract (`provider`, `errors`, `context`, `hookspecs`, `plugins`) imports
  nothing of `hub.core`: the core builds a PluginContext and hands it its services;
- plugin code imports only `hub` and `hub.testing` of the hub (tested in
  test_plugins_contract.py).

docs/architecture.md, "What may import what", says why.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

CONTRACT = ["hub.provider", "hub.errors", "hub.context", "hub.hookspecs", "hub.plugins"]
# what hub.core may import outside itself: the contract's data types and the settings
CORE_MAY_IMPORT = {"hub.provider", "hub.errors", "hub.context", "hub.config"}


def modules(package_dir: Path) -> dict[str, Path]:
    """Dotted name -> file, for a package's modules (migrations and tests left out)."""
    found = {}
    for path in package_dir.rglob("*.py"):
        if {"migrations", "tests"} & set(path.relative_to(package_dir).parts):
            continue
        parts = path.relative_to(package_dir.parent).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


def _absolute(node: ast.ImportFrom, module: str, is_package: bool) -> str:
    if not node.level:
        return node.module or ""
    base = module.split(".")
    base = base if is_package else base[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join([*base, *([node.module] if node.module else [])])


def imports(known: dict[str, Path]) -> dict[str, set[str]]:
    """Module -> the modules of `known` it imports (a package's `__init__` only when a name
    is taken from it, not when a submodule is)."""
    graph: dict[str, set[str]] = {name: set() for name in known}
    for name, path in known.items():
        tree = ast.parse(path.read_text(), str(path))
        for node in ast.walk(tree):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = _absolute(node, name, path.name == "__init__.py")
                for alias in node.names:
                    sub = f"{base}.{alias.name}"
                    targets.append(sub if sub in known else base)
            for target in targets:
                while target and target not in known:
                    target = target.rpartition(".")[0]
                if target and target != name:
                    graph[name].add(target)
    return graph


def circles(graph: dict[str, set[str]]) -> list[set[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[set[str]] = []
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.add(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(component)
    return found


PACKAGES = [ROOT / "hub", *sorted(ROOT.glob("plugins/*/mycelium_*"))]


@pytest.mark.parametrize("package_dir", PACKAGES, ids=lambda p: p.name)
def test_no_import_circles(package_dir: Path) -> None:
    found = circles(imports(modules(package_dir)))
    assert not found, f"import circles: {[sorted(c) for c in found]}"


def upward(graph: dict[str, set[str]]) -> dict[str, list[str]]:
    """Modules of hub.core -> what they import from above the core."""
    found = {}
    for name, targets in graph.items():
        if name == "hub.core" or name.startswith("hub.core."):
            above = [
                t
                for t in sorted(targets)
                if not t.startswith("hub.core.") and t != "hub.core" and t not in CORE_MAY_IMPORT
            ]
            if above:
                found[name] = above
    return found


def test_nothing_in_the_core_imports_upward() -> None:
    assert upward(imports(modules(ROOT / "hub"))) == {}


def test_the_contract_imports_nothing_of_the_core() -> None:
    graph = imports(modules(ROOT / "hub"))
    reaching = {
        name: sorted(t for t in graph[name] if t == "hub.core" or t.startswith("hub.core."))
        for name in CONTRACT
    }
    assert reaching == {name: [] for name in CONTRACT}


def test_the_scan_finds_an_upward_import_hidden_in_a_function(tmp_path: Path) -> None:
    package = tmp_path / "hub"
    (package / "core").mkdir(parents=True)
    for path in ("__init__.py", "plugins.py", "errors.py", "core/__init__.py", "core/b.py"):
        (package / path).write_text("")
    (package / "core" / "a.py").write_text(
        "from hub.errors import X\nfrom . import b\n\ndef f():\n    from hub.plugins import P\n"
    )
    assert upward(imports(modules(package))) == {"hub.core.a": ["hub.plugins"]}


def test_the_scan_finds_a_circle_hidden_in_a_function_and_under_type_checking(
    tmp_path: Path,
) -> None:
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("def f():\n    from pkg import b\n")
    (package / "b.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pkg.c import C\n"
    )
    (package / "c.py").write_text("from . import a\n")
    (package / "d.py").write_text("from pkg import a\n")
    assert circles(imports(modules(package))) == [{"pkg.a", "pkg.b", "pkg.c"}]
