"""What the email templates' sandbox limits cost: CPU per rendered email.

Renders every shipped email type with its sample data, the way the email plugin does
(subject, HTML, text, then the branded layout), through its limited sandbox and through
Jinja2's plain sandbox with the same options, in turns, and prints the CPU time per email.

    .venv/bin/python bench/template_render.py [--rounds 7] [--emails 1000]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from typing import Any

from jinja2 import ChainableUndefined
from jinja2.sandbox import SandboxedEnvironment
from markupsafe import Markup
from mycelium_smtp import templates
from mycelium_smtp.catalog import TYPES

BRANDING = templates.Branding(
    "Acme Studio",
    "https://acme.example/logo.png",
    "#4f46e5",
    "Acme (a@acme.example)",
    "https://hub.acme.example",
    "help@acme.example",
)
LINK = "https://hub.acme.example/u/token"


def _plain(autoescape: bool) -> SandboxedEnvironment:
    return SandboxedEnvironment(
        autoescape=autoescape, undefined=ChainableUndefined, trim_blocks=True, lstrip_blocks=True
    )


PLAIN = {True: _plain(True), False: _plain(False)}
COMPILED: dict[tuple[bool, str], Any] = {}


def _compiled(html: bool, source: str) -> Any:
    if (html, source) not in COMPILED:
        COMPILED[html, source] = PLAIN[html].from_string(source)
    return COMPILED[html, source]


def render_plain(kind: Any) -> None:
    """templates.render with Jinja2's plain sandbox: no limits."""
    source = templates.default_source(kind.name)
    values = templates._context(kind, kind.sample(), BRANDING)
    subject = _compiled(False, source.subject).render(values)
    html = Markup(_compiled(True, source.html).render(values))
    text = _compiled(False, source.text).render(values)
    frame = templates._frame(BRANDING, LINK, subject)
    _compiled(True, templates._default_file("layout.html")).render(frame, content=html)
    _compiled(False, templates._default_file("layout.txt")).render(frame, content=text)


def render_limited(kind: Any) -> None:
    templates.render(kind, templates.default_source(kind.name), kind.sample(), BRANDING, LINK)


def per_email_ms(render: Callable[[Any], None], emails: int) -> float:
    kinds = list(TYPES.values())
    started = time.process_time()
    for n in range(emails):
        render(kinds[n % len(kinds)])
    return (time.process_time() - started) / emails * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--emails", type=int, default=1000)
    args = parser.parse_args()
    results: dict[str, list[float]] = {"plain sandbox": [], "limited sandbox": []}
    for kind in TYPES.values():  # compile everything first
        render_plain(kind), render_limited(kind)
    for _ in range(args.rounds):
        results["plain sandbox"].append(per_email_ms(render_plain, args.emails))
        results["limited sandbox"].append(per_email_ms(render_limited, args.emails))
    print(
        f"{len(TYPES)} email types, {args.emails} emails x {args.rounds} rounds, CPU ms per email"
    )
    for name, values in results.items():
        print(f"{name:16} median {statistics.median(values):.3f}  min {min(values):.3f}")


if __name__ == "__main__":
    main()
