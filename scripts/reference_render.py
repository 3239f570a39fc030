"""Markdown from Python objects, for docs/reference.md: docstrings, signatures, fields.

Everything comes from the code: docstrings (their ``Attributes:`` or ``Keys:`` sections
become tables), attribute docstrings (a string right after a field or a module-level
assignment), signatures and defaults. What a strict class leaves undocumented is an error,
so the reference cannot thin out unnoticed.
"""

from __future__ import annotations

import ast
import dataclasses
import inspect
import itertools
import re
import textwrap
from collections.abc import Callable, Iterator, Sequence
from typing import Any


class Undocumented(Exception):
    """Something the reference must describe has no docstring."""


def markdown(text: str) -> str:
    """A docstring in Markdown: ``code`` and :role:`target` become `code`."""
    text = inspect.cleandoc(text)
    text = re.sub(r":(?:class|func|meth|attr|mod|exc|data):`~?([^`]+)`", r"`\1`", text)
    return text.replace("``", "`")


def own_doc(obj: Any) -> str:
    """The object's own docstring (not one inherited from a base class), or ''."""
    doc = obj.__dict__.get("__doc__") if inspect.isclass(obj) else getattr(obj, "__doc__", "")
    return markdown(doc) if isinstance(doc, str) else ""


def cell(text: str) -> str:
    """Text fit for one table cell."""
    return " ".join(text.split()).replace("|", "\\|")


def table(header: tuple[str, ...], rows: Sequence[tuple[str, ...]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    lines += ["| " + " | ".join(cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def sections(doc: str, *names: str) -> tuple[str, dict[str, list[tuple[str, str]]]]:
    """A docstring without its ``Name:`` sections, and each section's (key, text) items."""
    found: dict[str, list[tuple[str, str]]] = {}
    kept: list[str] = []
    current: list[tuple[str, str]] | None = None
    for line in doc.splitlines():
        if line.rstrip(":") in names and line.endswith(":"):
            current = found.setdefault(line[:-1], [])
        elif current is not None and line.startswith("        ") and current:
            key, text = current[-1]
            current[-1] = (key, f"{text} {line.strip()}")
        elif current is not None and line.startswith("    ") and ":" in line:
            key, text = line.strip().split(":", 1)
            current.append((key.strip(), text.strip()))
        else:
            current = None
            kept.append(line)
    return re.sub(r"\n{3,}", "\n\n", "\n".join(kept)).strip(), found


def _annotation(value: Any) -> str:
    if value is inspect.Parameter.empty:
        return ""
    return value if isinstance(value, str) else inspect.formatannotation(value)


def _parameter(param: inspect.Parameter) -> str:
    prefix = "*" if param.kind is param.VAR_POSITIONAL else ""
    prefix = "**" if param.kind is param.VAR_KEYWORD else prefix
    text = prefix + param.name
    if param.annotation is not param.empty:
        text += f": {_annotation(param.annotation)}"
    if param.default is not param.empty:
        text += f" = {param.default!r}" if param.annotation is not param.empty else "="
    return text


def signature(name: str, function: Callable[..., Any], *, method: bool = False) -> str:
    """``name(arg: Type = default, *, key: Type) -> Return``, annotations as written."""
    params = list(inspect.signature(function).parameters.values())[1 if method else 0 :]
    parts: list[str] = []
    for param in params:
        if param.kind is param.KEYWORD_ONLY and not any(p.startswith("*") for p in parts):
            parts.append("*")
        parts.append(_parameter(param))
    returns = _annotation(inspect.signature(function).return_annotation)
    return f"{name}({', '.join(parts)})" + (f" -> {returns}" if returns else "")


def _docstring_after(body: list[ast.stmt]) -> Iterator[tuple[str, str]]:
    """(name, docstring) for each assignment in `body` followed by a string."""
    for node, after in itertools.pairwise(body):
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            name = node.target.id
        elif isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
            name = node.targets[0].id
        else:
            continue
        value = after.value if isinstance(after, ast.Expr) else None
        if isinstance(value, ast.Constant) and isinstance(value.value, str):
            yield name, markdown(value.value)


def field_docs(cls: type) -> dict[str, str]:
    """The attribute docstrings of a class's fields."""
    tree = ast.parse(textwrap.dedent(inspect.getsource(cls)))
    node = tree.body[0]
    assert isinstance(node, ast.ClassDef)
    return dict(_docstring_after(node.body))


def module_docs(source: str) -> dict[str, str]:
    """The attribute docstrings of a module's top-level assignments."""
    return dict(_docstring_after(ast.parse(source).body))


def assigned_source(source: str, name: str) -> str | None:
    """The right-hand side of `name = ...` at a module's top level, as written."""
    for node in ast.parse(source).body:
        if isinstance(node, ast.Assign | ast.AnnAssign) and node.value is not None:
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(isinstance(t, ast.Name) and t.id == name for t in targets):
                return ast.unparse(node.value)
    return None


def _default(field: dataclasses.Field[Any]) -> str:
    if field.default is not dataclasses.MISSING:
        return f"`{field.default!r}`"
    if field.default_factory is not dataclasses.MISSING:
        return f"`{field.default_factory()!r}`"
    return "required"


def fields_table(cls: type, strict: bool) -> str:
    """A dataclass's fields: name, type as written, default, and what it means."""
    docs = field_docs(cls)
    rows = []
    for field in dataclasses.fields(cls):
        if strict and not docs.get(field.name):
            raise Undocumented(f"{cls.__qualname__}.{field.name} has no docstring")
        rows.append(
            (f"`{field.name}`", f"`{field.type}`", _default(field), docs.get(field.name, ""))
        )
    return table(("field", "type", "default", "meaning"), rows)


def members(cls: type) -> Iterator[tuple[str, Any]]:
    """Public methods and properties a class defines itself, in source order."""
    for name, value in vars(cls).items():
        if name.startswith("_"):
            continue
        function = value.__func__ if isinstance(value, classmethod | staticmethod) else value
        if isinstance(function, property) or inspect.isfunction(function):
            yield name, function
