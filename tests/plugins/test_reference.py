"""docs/reference.md: generated from the docstrings, current, and complete for plugin
authors (every public name, every field of what they declare and receive)."""

from __future__ import annotations

import dataclasses
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

import hub

REPO = Path(__file__).resolve().parents[2]
PAGE = REPO / "docs" / "reference.md"
SCRIPT = REPO / "scripts" / "gen_reference.py"


def _generate(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args], cwd=REPO, capture_output=True, text=True
    )


def test_the_reference_is_current() -> None:
    result = _generate("--check")
    assert result.returncode == 0, result.stderr


def test_a_stale_reference_fails_with_the_command_to_run(tmp_path: Path) -> None:
    stale = tmp_path / "reference.md"
    stale.write_text(PAGE.read_text().replace("PKCE", "PKCE (old)", 1))
    result = _generate("--check", "--output", str(stale))
    assert result.returncode == 1
    assert "run `.venv/bin/python scripts/gen_reference.py`" in result.stderr


def _section(title: str) -> str:
    return PAGE.read_text().split(f"### `hub.{title}`\n", 1)[1].split("\n### ", 1)[0]


def test_every_public_name_is_described() -> None:
    text = PAGE.read_text()
    described = set(re.findall(r"^### `hub\.(\w+)`$", text, re.M))
    errors = set(re.findall(r"^\| `hub\.(\w+)` \| `\w+` \| \d{3} \|", text, re.M))
    assert described | errors == set(hub.__all__)


@pytest.mark.parametrize(
    "cls", [hub.Provider, hub.OAuth2, hub.Setting, hub.RateLimits, hub.Token, hub.EventInfo]
)
def test_every_field_has_its_meaning(cls: type) -> None:
    section = _section(cls.__name__)
    for field in dataclasses.fields(cls):
        row = re.search(rf"^\| `{field.name}` \|.*\| (.+) \|$", section, re.M)
        assert row and row.group(1).strip(), f"{cls.__name__}.{field.name}"


def test_the_context_says_which_calls_pass_the_egress_guard() -> None:
    section = _section("PluginContext")
    for member in ("db", "org", "integration", "config", "provider", "redis", "log"):
        assert f"| `{member}` |" in section
    for call in ("ctx.http", "ctx.secret(", "ctx.access_token(", "ctx.setting(", "ctx.emit("):
        assert f"`{call}" in section
    assert "does not pass the egress guard" in section
    assert "hub.egress_session" in section


def test_the_run_record_and_plugin_json_are_described() -> None:
    text = PAGE.read_text()
    runs = text.split("## The run record", 1)[1].split("\n## ", 1)[0]
    for field in ("event_id", "state", "attempts", "last_error", "finished_at"):
        assert f"| `{field}` |" in runs
    listed = text.split("## `hub plugins --json`", 1)[1]
    for key in ("distribution", "hooks", "auth", "config", "rate_limits", "settings"):
        assert f"| `{key}` |" in listed
    assert '"kind": "oauth2"' in listed  # the example JSON


@pytest.fixture
def render(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    monkeypatch.syspath_prepend(str(SCRIPT.parent))
    import reference_render

    return reference_render


def test_an_undocumented_field_stops_the_generator(render: ModuleType) -> None:
    @dataclasses.dataclass
    class Declared:
        documented: int = 0
        """What it means."""
        forgotten: int = 0

    with pytest.raises(render.Undocumented, match=r"Declared\.forgotten"):
        render.fields_table(Declared, strict=True)
    assert "| `documented` | `int` | `0` | What it means. |" in render.fields_table(
        Declared, strict=False
    )
