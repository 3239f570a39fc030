"""Templates: declared variables, the sandbox, autoescaping, and the branded layout."""

from __future__ import annotations

import pytest
from markupsafe import Markup
from mycelium_smtp.catalog import TYPES
from mycelium_smtp.sandbox import Limits, TemplateLimitError, limited, render_counted, render_part
from mycelium_smtp.templates import (
    Branding,
    TemplateSource,
    _compiled,
    _default_file,
    check_source,
    check_variables,
    default_source,
    layout,
    render,
)

from hub import ValidationError

BRANDING = Branding(
    company_name="Acme Studio",
    logo_url=None,
    primary_color="#ff6600",
    sender="Acme Studio (studio@acme.example)",
    app_url="https://hub.acme.example",
    support_email="help@acme.example",
)
UNSUBSCRIBE = "https://hub.acme.example/api/integrations/smtp/unsubscribe/t0ken"
REQUIRED_TYPES = {
    "user_invitation",
    "password_reset",
    "deliverable_due",
    "deliverable_overdue",
    "deliverable_completed",
    "client_welcome",
    "daily_digest",
    "weekly_digest",
    "monthly_report",
}


def test_every_type_declares_variables_and_ships_a_default_that_renders() -> None:
    assert set(TYPES) >= REQUIRED_TYPES
    for name, kind in TYPES.items():
        assert kind.variables, name
        check_source(kind, default_source(name), BRANDING)
        rendered = render(kind, default_source(name), kind.sample(), BRANDING, UNSUBSCRIBE)
        assert rendered.subject and "\n" not in rendered.subject
        assert "Acme Studio" in rendered.html and rendered.text.strip()


@pytest.mark.parametrize("hostile", ["<script>alert(1)</script>", "{{7*7}}", "{% raw %}x"])
def test_hostile_client_names_arrive_as_text(hostile: str) -> None:
    kind = TYPES["deliverable_due"]
    variables = {"client_name": hostile, "deliverable_title": "Logo"}
    rendered = render(kind, default_source(kind.name), variables, BRANDING, UNSUBSCRIBE)
    assert "<script>" not in rendered.html
    if "<" in hostile:
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in rendered.html
    else:
        assert hostile in rendered.html and "49" not in rendered.html
    assert hostile in rendered.text  # the plain-text part shows it as written
    assert hostile in rendered.subject


def test_missing_variables_render_empty() -> None:
    kind = TYPES["deliverable_overdue"]
    rendered = render(kind, default_source(kind.name), {}, BRANDING, UNSUBSCRIBE)
    assert "Overdue:" in rendered.subject
    assert "None" not in rendered.text and "Undefined" not in rendered.html


def test_unknown_variables_are_refused_by_name() -> None:
    with pytest.raises(ValidationError) as caught:
        check_variables(TYPES["deliverable_due"], {"client_name": "x", "bogus": 1, "evil": 2})
    assert set(caught.value.details) == {"variables.bogus", "variables.evil"}


def test_template_naming_an_unknown_variable_is_refused() -> None:
    source = TemplateSource("Hi {{ client_name }}", "<p>{{ secret_key }}</p>", "{{ client_name }}")
    with pytest.raises(ValidationError) as caught:
        check_source(TYPES["client_welcome"], source, BRANDING)
    assert caught.value.details == {"html": ["Unknown variable: secret_key."]}


@pytest.mark.parametrize(
    "html",
    [
        "<p>{{ client_name.__class__.__mro__ }}</p>",  # the sandbox refuses
        "<p>{{ client_name | no_such_filter }}</p>",  # does not parse
        "<p>{% for x in %}</p>",  # syntax error
        "<p>{{ 1 / 0 if client_name == '' else 1 / 0 }}</p>",  # fails with sample data
    ],
)
def test_template_that_does_not_render_is_refused(html: str) -> None:
    source = TemplateSource("Welcome {{ client_name }}", html, "Welcome")
    with pytest.raises(ValidationError):
        check_source(TYPES["client_welcome"], source, BRANDING)


def test_branded_layout() -> None:
    kind = TYPES["client_welcome"]
    rendered = render(kind, default_source(kind.name), kind.sample(), BRANDING, UNSUBSCRIBE)
    assert "background:#ff6600" in rendered.html  # primary colour
    assert "<h1" in rendered.html and "Acme Studio</h1>" in rendered.html  # no logo: the name
    assert f'href="{UNSUBSCRIBE}"' in rendered.html
    assert "sent by Acme Studio (studio@acme.example)" in rendered.html
    assert f"Unsubscribe: {UNSUBSCRIBE}" in rendered.text
    with_logo = Branding(**{**BRANDING.__dict__, "logo_url": "https://cdn.acme.example/l.png"})
    rendered = render(kind, default_source(kind.name), kind.sample(), with_logo, UNSUBSCRIBE)
    assert '<img src="https://cdn.acme.example/l.png" alt="Acme Studio"' in rendered.html


def test_unsafe_branding_values_are_not_used() -> None:
    hostile = Branding(
        **{
            **BRANDING.__dict__,
            "primary_color": "red;background:url(https://evil.example)",
            "logo_url": "javascript:alert(1)",
        }
    )
    kind = TYPES["client_welcome"]
    rendered = render(kind, default_source(kind.name), kind.sample(), hostile, UNSUBSCRIBE)
    assert "evil.example" not in rendered.html and "javascript:" not in rendered.html


def test_transactional_email_has_no_unsubscribe_link() -> None:
    kind = TYPES["password_reset"]
    assert kind.transactional
    rendered = render(kind, default_source(kind.name), kind.sample(), BRANDING, None)
    assert "Unsubscribe" not in rendered.html and "Unsubscribe" not in rendered.text


@pytest.mark.parametrize("html", [True, False])
@pytest.mark.parametrize(
    "frame",
    [
        {},
        {
            "subject": 'Q3 <report> & "more"',
            "organization_name": "Acme & Sons <b>",
            "logo_url": "https://cdn.example/logo.png?a=1&b=<2>",
            "primary_color": "#123456",
            "sender": "Ana Müller <ana@acme.example>",
            "app_url": "https://hub.example/?x=1&y=2",
            "support_email": "help@acme.example",
            "unsubscribe_url": "https://hub.example/u/abc?t=1&u=2",
            "content": Markup("<p>Hi &amp; welcome</p>"),
        },
        {"organization_name": "Plain", "support_email": None, "content": "Text <as> is"},
    ],
)
def test_the_layout_outside_the_sandbox_renders_as_inside(html: bool, frame: dict) -> None:
    name = "layout.html" if html else "layout.txt"
    with limited(Limits()):
        inside = render_part(_compiled(html, _default_file(name)), frame, "html")
    with limited(Limits()):
        outside = render_counted(layout(html), frame, "html")
    assert outside == inside and "Mycelium OS" in inside


def test_the_layout_counts_in_the_budget() -> None:
    frame = {"content": Markup("x" * 900), "organization_name": "Acme"}
    with limited(Limits(value_size=800)), pytest.raises(TemplateLimitError) as refused:
        render_counted(layout(True), frame, "html")
    assert refused.value.part == "html"
    with limited(Limits(allocation=900)), pytest.raises(TemplateLimitError) as refused:
        render_counted(layout(False), frame, "text")
    assert refused.value.part == "text" and "more than 900" in str(refused.value)
