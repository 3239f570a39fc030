"""Rendering: sandboxed Jinja2 with autoescaping, the shipped defaults, the branded layout.

Variables are data, never template source: a client called ``{{7*7}}`` or ``<script>``
arrives as that text (escaped in the HTML part, as is in the plain-text part). Every email
renders under the sandbox's limits (``sandbox.py``): time, loops, sizes, arithmetic.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

from jinja2 import ChainableUndefined, Environment, Template, TemplateError, Undefined, meta
from jinja2.exceptions import SecurityError
from markupsafe import Markup

from hub import ValidationError
from mycelium_smtp.catalog import COMMON, EmailType
from mycelium_smtp.sandbox import (
    LimitedSandbox,
    Limits,
    TemplateLimitError,
    limited,
    render_counted,
    render_part,
)

MAX_SOURCE = 100_000
# Common variables a caller may still give (the hub cannot always know the name).
CALLER_SET = frozenset({"recipient_name"})
DEFAULT_COLOR = "#4f46e5"
_COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")


@dataclass(frozen=True)
class TemplateSource:
    """A template as an organization stores it (or as shipped)."""

    subject: str
    html: str
    text: str


@dataclass(frozen=True)
class Rendered:
    subject: str
    html: str
    text: str


@dataclass(frozen=True)
class Branding:
    """What the layout shows: the agency's identity and where the email comes from."""

    company_name: str
    logo_url: str | None
    primary_color: str | None
    sender: str
    app_url: str
    support_email: str | None


class _Sandbox(LimitedSandbox):
    """The limited sandbox, refusing (not quietly emptying) attributes it considers unsafe."""

    def unsafe_undefined(self, obj: Any, attribute: str) -> Undefined:
        raise SecurityError(f"access to attribute {attribute!r} is not allowed")


def _environment(autoescape: bool) -> LimitedSandbox:
    return _Sandbox(
        autoescape=autoescape,
        undefined=ChainableUndefined,  # a missing variable renders empty, even `a.b`
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
    )


HTML = _environment(autoescape=True)
TEXT = _environment(autoescape=False)


# The branded layout is the plugin's own file, never an organization's: it needs no
# sandbox, only the same options (and its output is still counted in the budget).
@lru_cache(maxsize=2)
def layout(html: bool) -> Template:
    """The shipped layout (layout.html or layout.txt) compiled outside the sandbox."""
    environment = Environment(
        autoescape=html,
        undefined=ChainableUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
    )
    return environment.from_string(_default_file("layout.html" if html else "layout.txt"))


@lru_cache(maxsize=512)
def _compiled(html: bool, source: str) -> Template:
    return (HTML if html else TEXT).from_string(source)


@lru_cache(maxsize=64)
def _default_file(name: str) -> str:
    return resources.files("mycelium_smtp").joinpath("defaults", name).read_text("utf-8")


@lru_cache(maxsize=32)
def default_source(type_name: str) -> TemplateSource:
    """The template shipped with the plugin for `type_name`."""
    return TemplateSource(
        _default_file(f"{type_name}.subject.txt").strip(),
        _default_file(f"{type_name}.html"),
        _default_file(f"{type_name}.txt"),
    )


def check_variables(email_type: EmailType, variables: dict[str, Any]) -> None:
    """Refuse variables the type does not declare (common ones are the hub's to fill)."""
    unknown = sorted(set(variables) - set(email_type.variables) - CALLER_SET)
    if unknown:
        details = {f"variables.{name}": ["Unknown variable."] for name in unknown}
        raise ValidationError(
            f"Unknown variables for {email_type.name}: {', '.join(unknown)}.", details
        )


def _undeclared(source: str, env: Environment) -> set[str]:
    return set(meta.find_undeclared_variables(env.parse(source))) - set(env.globals)


def check_source(
    email_type: EmailType, source: TemplateSource, branding: Branding, limits: Limits = Limits()
) -> None:
    """Refuse a template that names unknown variables, does not parse, or does not render
    with the sample data within the sandbox's limits (each error names its part)."""
    parts = {"subject": (source.subject, TEXT), "html": (source.html, HTML)}
    parts["text"] = (source.text, TEXT)
    errors: dict[str, list[str]] = {}
    allowed = set(email_type.all_variables())
    for part, (text, env) in parts.items():
        if len(text) > MAX_SOURCE:
            errors[part] = [f"Longer than {MAX_SOURCE} characters."]
            continue
        try:
            unknown = sorted(_undeclared(text, env) - allowed)
        except TemplateError as exc:
            errors[part] = [f"Does not parse: {exc}"]
            continue
        if unknown:
            errors[part] = [f"Unknown variable: {name}." for name in unknown]
    if not errors:
        errors = _render_errors(email_type, source, branding, limits)
    if errors:
        raise ValidationError("The template is not valid.", errors)


def _render_errors(
    email_type: EmailType, source: TemplateSource, branding: Branding, limits: Limits
) -> dict[str, list[str]]:
    sample, link = email_type.sample(), "https://example.invalid/u"
    try:
        render(email_type, source, sample, branding, link, limits)
    except TemplateLimitError as exc:
        return {exc.part or "_schema": [refusal(exc)]}
    except (TemplateError, ValueError, TypeError, ArithmeticError) as exc:
        return {"_schema": [f"Does not render with sample data: {exc}"]}
    return {}


def refusal(error: TemplateLimitError) -> str:
    return f"Stopped by the template sandbox: {error.message}."


def _context(
    email_type: EmailType, variables: dict[str, Any], branding: Branding
) -> dict[str, Any]:
    values = {name: "" for name in COMMON}
    values.update(
        organization_name=branding.company_name,
        organization_logo=branding.logo_url or "",
        primary_color=_color(branding.primary_color),
        app_url=branding.app_url,
        support_email=branding.support_email or "",
    )
    # the branding is the organization's own: only the type's variables and the
    # recipient's can be given
    settable = set(email_type.variables) | CALLER_SET | {"recipient_email"}
    values.update({k: v for k, v in variables.items() if k in settable})
    return values


def _color(value: str | None) -> str:
    return value if value and _COLOR.match(value) else DEFAULT_COLOR


def _one_line(subject: str) -> str:
    return " ".join(subject.split())[:500]


def render(
    email_type: EmailType,
    source: TemplateSource,
    variables: dict[str, Any],
    branding: Branding,
    unsubscribe_url: str | None,
    limits: Limits = Limits(),
) -> Rendered:
    """Subject, HTML and text of one email, inside the branded layout, within `limits`
    (TemplateLimitError naming the part past them)."""
    values = _context(email_type, variables, branding)
    with limited(limits):
        subject = _one_line(render_part(_compiled(False, source.subject), values, "subject"))
        body_html = Markup(render_part(_compiled(True, source.html), values, "html"))
        body_text = render_part(_compiled(False, source.text), values, "text").strip()
        frame = _frame(branding, unsubscribe_url, subject)
        html = render_counted(layout(True), {**frame, "content": body_html}, "html")
        text = render_counted(layout(False), {**frame, "content": body_text}, "text")
    return Rendered(subject, html, text.strip() + "\n")


def _frame(branding: Branding, unsubscribe_url: str | None, subject: str) -> dict[str, Any]:
    logo = branding.logo_url if (branding.logo_url or "").startswith("https://") else None
    return {
        "subject": subject,
        "organization_name": branding.company_name,
        "logo_url": logo,
        "primary_color": _color(branding.primary_color),
        "sender": branding.sender,
        "app_url": branding.app_url,
        "support_email": branding.support_email,
        "unsubscribe_url": unsubscribe_url,
    }
