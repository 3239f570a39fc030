"""Write docs/reference.md, the plugin API reference, from the code's docstrings.

    .venv/bin/python scripts/gen_reference.py           # write docs/reference.md
    .venv/bin/python scripts/gen_reference.py --check   # exit 1 if it is not current

Every name in ``hub.__all__`` is described (a public name without a docstring stops the
script), then the run record as the runs API renders it and the JSON of
``hub plugins --json``. Edit the docstrings, never the page.
"""

from __future__ import annotations

import argparse
import ast
import importlib
import inspect
import sys
from pathlib import Path
from typing import Any

from reference_plugins import plugins_section, runs_section
from reference_render import (
    Undocumented,
    assigned_source,
    fields_table,
    markdown,
    members,
    module_docs,
    own_doc,
    sections,
    signature,
    table,
)

import hub
from hub.errors import HubError

REPO = Path(__file__).resolve().parent.parent
PAGE = REPO / "docs" / "reference.md"
COMMAND = ".venv/bin/python scripts/gen_reference.py"
# Classes whose every field and member must be documented (what plugins declare and get).
STRICT = {
    *("Provider", "OAuth2", "Setting", "RateLimits", "Work", "Token", "HealthResult"),
    *("PluginContext", "OrgInfo", "IntegrationInfo", "EventInfo", "UserInfo", "Caller"),
}
SKIP_MEMBERS = {"of"}  # constructors the hub uses; plugins are handed the objects
GROUPS: list[tuple[str, str, list[str]]] = [
    (
        "Declaring a plugin",
        "What `register_providers` registers: data the hub acts on.",
        ["Provider", "OAuth2", "Setting", "RateLimits", "Work", "Token", "HealthResult"],
    ),
    (
        "Registering",
        "The hook marker and what each registration hook's `register` takes.",
        [
            "hookimpl",
            "RegisterProvider",
            "RegisterRoute",
            "RegisterJob",
            "RegisterCommand",
            "RegisterModels",
            "RegisterSandbox",
            "Sandbox",
            "SandboxServer",
            "SandboxPages",
        ],
    ),
    (
        "The context",
        "What a hook receives as `ctx`, and the values it holds.",
        ["PluginContext", "OrgInfo", "IntegrationInfo", "EventInfo"],
    ),
    (
        "Routes",
        "For a plugin's blueprint (`register_routes`).",
        [
            "public_route",
            "admin_route",
            "current_caller",
            "current_context",
            "Caller",
            "UserInfo",
            "find_integration",
            "set_external_account_id",
            "disable_integration",
            "db_session",
        ],
    ),
    (
        "Jobs, transactions and events",
        "Work outside hooks, and the hub's clock.",
        [
            "context_for",
            "enqueue",
            "report_needs_reauth",
            "after_commit",
            "before_commit",
            "insert_ignoring_conflicts",
            "event_types",
            "now",
        ],
    ),
    (
        "Destinations an organization supplies",
        "The egress guard: HTTPS only unless "
        "`HUB_EGRESS_ALLOW_HTTP`, private addresses refused at connect time unless inside "
        "`HUB_EGRESS_ALLOWED_CIDRS`, no redirects followed.",
        ["check_url", "check_host", "egress_session", "EgressPolicy"],
    ),
    (
        "Signatures",
        "Verifying what providers send, signing what the hub sends.",
        ["verify_hmac_signature", "verify_webhook", "sign_webhook", "generate_webhook_secret"],
    ),
    (
        "Outgoing webhook retries",
        "The delivery policy of the built-in webhooks.",
        ["RetryPolicy", "WEBHOOK_RETRY_SCHEDULE", "parse_retry_after"],
    ),
    (
        "The hub's tables",
        "Plugins' own tables subclass `Model` and `OrgScoped`; the core's "
        "rows are read through the hub's session. A history table declares "
        "`__retention__ = Retention(...)` and the core's retention job prunes it.",
        [
            "Model",
            "OrgScoped",
            "Retention",
            "Client",
            "Deliverable",
            "User",
            "render_client",
            "render_deliverable",
            "complete_deliverable",
        ],
    ),
    ("Version", "", ["__version__"]),
]


def _errors() -> list[str]:
    classes = [n for n in hub.__all__ if inspect.isclass(getattr(hub, n))]
    return [n for n in classes if issubclass(getattr(hub, n), HubError)]


def _where_assigned(name: str) -> tuple[str, str]:
    """(module source, name there) of a public constant, following hub/__init__.py's import."""
    init = Path(hub.__file__).read_text()
    for node in ast.parse(init).body:
        if isinstance(node, ast.ImportFrom) and node.module:
            for alias in node.names:
                if (alias.asname or alias.name) == name:
                    module = importlib.import_module(node.module)
                    return inspect.getsource(module), alias.name
    return init, name


def _value(name: str, obj: Any) -> str:
    source, original = _where_assigned(name)
    doc = module_docs(source).get(original)
    if not doc:
        raise Undocumented(f"hub.{name} has no docstring where it is assigned")
    written = assigned_source(source, original) or repr(obj)
    return f"```python\nhub.{name} = {written}\n```\n\n{doc}"


def _class(name: str, cls: type) -> str:
    strict = name in STRICT
    doc, found = sections(own_doc(cls), "Attributes")
    if not doc:
        raise Undocumented(f"hub.{name} has no docstring")
    parts = [doc]
    if found.get("Attributes"):
        rows = [(f"`{key}`", text) for key, text in found["Attributes"]]
        parts.append(table(("attribute", "meaning"), rows))
    if hasattr(cls, "__dataclass_fields__"):
        parts.append(fields_table(cls, strict))
    if hasattr(cls, "__table__"):
        columns = cls.__table__.columns
        cells = [(f"`{c.name}`", f"`{c.type}`", "yes" if c.nullable else "no") for c in columns]
        parts.append(table(("column", "type", "nullable"), cells))
    parts += _members(name, cls, strict)
    return "\n\n".join(parts)


def _members(name: str, cls: type, strict: bool) -> list[str]:
    owner = "ctx" if name == "PluginContext" else name
    parts = []
    for member, function in members(cls):
        doc = own_doc(function)
        if member in SKIP_MEMBERS or (not doc and not strict):
            continue
        if not doc:
            raise Undocumented(f"hub.{name}.{member} has no docstring")
        if isinstance(function, property):
            returns = inspect.signature(function.fget).return_annotation  # type: ignore[arg-type]
            head = f"{owner}.{member}: {returns}"
        else:
            head = signature(f"{owner}.{member}", function, method=True)
        parts.append(f"`{head}`\n\n{doc}")
    return parts


def describe(name: str) -> str:
    """One public name: its heading, signature or value, and documentation."""
    obj = getattr(hub, name)
    if inspect.isclass(obj):
        body = _class(name, obj)
    elif inspect.isfunction(obj):
        if not own_doc(obj):
            raise Undocumented(f"hub.{name} has no docstring")
        body = f"```python\n{signature('hub.' + name, obj)}\n```\n\n{own_doc(obj)}"
    else:
        body = _value(name, obj)
    return f"### `hub.{name}`\n\n{body}"


def _errors_section() -> str:
    rows = []
    for name in _errors():
        error = getattr(hub, name)
        base = f"`{error.__mro__[1].__name__}`"
        rows.append((f"`hub.{name}`", base, str(error.status), f"`{error.code}`", own_doc(error)))
    intro = (
        "Every error the hub raises on purpose is a `hub.HubError`: `message`, `details` (a "
        "dict naming fields) and an HTTP status and code, rendered by the API as "
        '`{"error": {"code", "message", "details"}}`. Raised in a route, it is that answer; '
        "the docstring is its default message."
    )
    policy = markdown(sys.modules["hub.hookspecs"].__doc__ or "").split("\n\n")[-1]
    errors = table(("error", "base", "status", "code", "meaning"), rows)
    return "\n\n".join([intro, errors, policy])


def page() -> str:
    placed = {n for _, _, names in GROUPS for n in names} | set(_errors())
    unplaced = sorted(set(hub.__all__) - placed)
    groups = [*GROUPS, ("Other names", "", unplaced)] if unplaced else GROUPS
    parts = [
        "# Plugin API reference",
        "Generated from the docstrings by `scripts/gen_reference.py`: edit those, then run "
        f"`{COMMAND}`. Everything here is importable from `hub` (tests also use "
        "`hub.testing`). The hooks are in [plugin_hooks.md](plugin_hooks.md); a walk-through "
        "from `hub plugin new` in [writing_plugins.md](writing_plugins.md).",
    ]
    for title, intro, names in groups[:3]:
        parts += [f"## {title}", intro, *(describe(n) for n in names)]
    parts += ["## Errors", _errors_section()]
    for title, intro, names in groups[3:]:
        parts += [f"## {title}", *([intro] if intro else []), *(describe(n) for n in names)]
    parts += [runs_section(), plugins_section()]
    return "\n\n".join(parts) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Write or check docs/reference.md.")
    parser.add_argument("--check", action="store_true", help="exit 1 if the page is stale")
    parser.add_argument("--output", type=Path, default=PAGE, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    text = page()
    if not args.check:
        args.output.write_text(text)
        return 0
    if args.output.exists() and args.output.read_text() == text:
        return 0
    print(f"{args.output} is not current: run `{COMMAND}` and commit it.", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
