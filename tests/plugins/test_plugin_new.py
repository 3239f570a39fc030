"""`hub plugin new NAME`: refusals that write nothing, code that passes the hub's own ruff,
and a generated package whose own tests pass once it is installed.

The end-to-end test runs the real `hub` command, builds and installs the package with pip
(`--no-deps --no-build-isolation --target` a throwaway folder: a real wheel with its entry
point, never in this venv, so no other test sees the plugin), then runs the package's own
test suite in a fresh pytest process with that folder on PYTHONPATH.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from click.testing import CliRunner

from hub.cli import main
from hub.scaffold import PluginNames, render

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
EXAMPLE = REPO / "examples" / "mycelium-example"


def _new(tmp_path: Path, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["plugin", "new", *args])
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.parametrize(
    ("name", "says"),
    [
        ("Google-Calendar", "is not a plugin name"),
        ("1password", "is not a plugin name"),
        ("a" * 41, "keep it to 40"),
        ("status", "/api/integrations/status is the hub's own route"),
        ("webhooks", "/api/integrations/webhooks is the hub's own route"),
        ("db", "`hub db` is the hub's own command"),
        ("plugin", "`hub plugin` is the hub's own command"),
        ("slack", "the installed plugin of mycelium-slack"),
        ("oauth_refresh", "the hub's built-in plugin"),
    ],
)
def test_a_bad_or_taken_name_is_refused_and_nothing_written(
    tmp_path: Path, name: str, says: str
) -> None:
    code, out, err = _new(tmp_path, name, "--dir", str(tmp_path / "p"))
    assert code == 2 and out == ""
    assert says in err and repr(name) in err
    assert list(tmp_path.iterdir()) == []


def test_a_folder_in_use_is_refused_and_left_alone(tmp_path: Path) -> None:
    (tmp_path / "p").mkdir()
    (tmp_path / "p" / "mine.txt").write_text("keep")
    code, _, err = _new(tmp_path, "notes", "--dir", str(tmp_path / "p"))
    assert code == 2 and "exists and is not an empty folder" in err
    assert [p.name for p in tmp_path.rglob("*")] == ["p", "mine.txt"]


@pytest.mark.parametrize(
    ("option", "value"),
    [("--title", "x" * 41), ("--description", "y" * 79), ("--description", "two\nlines")],
)
def test_a_title_or_description_that_cannot_be_one_line_is_refused(
    tmp_path: Path, option: str, value: str
) -> None:
    code, _, err = _new(tmp_path, "notes", "--dir", str(tmp_path / "p"), option, value)
    assert code == 2 and option in err
    assert list(tmp_path.iterdir()) == []


def test_it_writes_the_package_into_an_empty_folder(tmp_path: Path) -> None:
    folder = tmp_path / "p"
    folder.mkdir()
    code, out, err = _new(tmp_path, "google_calendar", "--dir", str(folder))
    assert code == 0, err
    assert out.strip() == str(folder)  # stdout: only the folder, for scripts
    assert sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()) == [
        ".gitignore",
        "README.md",
        "mycelium_google_calendar/__init__.py",
        "mycelium_google_calendar/config.py",
        "mycelium_google_calendar/py.typed",
        "pyproject.toml",
        "tests/conftest.py",
        "tests/test_google_calendar.py",
    ]
    project = tomllib.loads((folder / "pyproject.toml").read_text())
    assert project["project"]["name"] == "mycelium-google-calendar"
    assert project["project"]["entry-points"]["mycelium"] == {
        "google_calendar": "mycelium_google_calendar"
    }
    assert "Google Calendar" in (folder / "mycelium_google_calendar/__init__.py").read_text()


def test_the_default_folder_is_mycelium_name_here(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    code, out, _ = _new(tmp_path, "notes")
    assert code == 0 and out.strip() == str(tmp_path / "mycelium-notes")
    assert (tmp_path / "mycelium-notes" / "mycelium_notes" / "__init__.py").is_file()
    assert [p.name for p in tmp_path.iterdir()] == ["mycelium-notes"]  # no staging left


def test_the_longest_names_still_pass_ruff(tmp_path: Path) -> None:
    """Names, title and description are in the code: at their longest, with quotes and
    backslashes, it still passes ruff's lint and format with the generated config."""
    names = PluginNames("n" * 40, 'A "quoted" \\ title' + "t" * 20, 'It\'s "hi" ' + "d" * 64)
    for relative, text in render(names).items():
        (tmp_path / relative).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / relative).write_text(text)
    for command in (["check", "."], ["format", "--check", "."]):
        done = subprocess.run([BIN / "ruff", *command], cwd=tmp_path, capture_output=True)
        assert done.returncode == 0, done.stdout.decode() + done.stderr.decode()


def _module_names(init: Path) -> dict[str, ast.expr]:
    tree = ast.parse(init.read_text())
    return {
        target.id: node.value
        for node in tree.body
        if isinstance(node, ast.Assign)
        for target in node.targets
        if isinstance(target, ast.Name)
    }


def _shape(folder: Path) -> dict[str, object]:
    """Where a package keeps its version and Provider, and how its pyproject reads them."""
    project = tomllib.loads((folder / "pyproject.toml").read_text())
    ((name, package),) = project["project"]["entry-points"]["mycelium"].items()
    assigned = _module_names(folder / package / "__init__.py")
    provider = assigned["PROVIDER"]
    assert isinstance(provider, ast.Call)
    keywords = {k.arg: ast.unparse(k.value) for k in provider.keywords}
    return {
        "version from": project["tool"]["setuptools"]["dynamic"]["version"],
        "__version__ in __init__.py": "__version__" in assigned,
        "Provider in __init__.py": ast.unparse(provider.func) == "hub.Provider",
        "Provider version": keywords["version"],
        "Provider name is the entry point": keywords["name"] == repr(name),
        "no provider.py": not (folder / package / "provider.py").exists(),
        "package": package,
    }


def test_the_example_has_the_generated_shape(tmp_path: Path) -> None:
    code, out, err = _new(tmp_path, "example", "--dir", str(tmp_path / "generated"))
    assert code == 0, err
    generated, example = _shape(Path(out.strip())), _shape(EXAMPLE)
    assert generated == example
    assert example["version from"] == {"attr": "mycelium_example.__version__"}


def _env(site: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    env.update({k: v for k, v in os.environ.items() if k == "HUB_TEST_DATABASE_URL"})
    env.update(PYTHONPATH=str(site), HUB_LOG_LEVEL="WARNING")
    return env


def test_a_generated_plugin_installs_and_its_own_tests_pass(tmp_path: Path) -> None:
    made = subprocess.run(
        [BIN / "hub", "plugin", "new", "desk_notes", "--title", "Desk notes"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert made.returncode == 0, made.stderr
    folder, site = Path(made.stdout.strip()), tmp_path / "site"
    pip = [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation"]
    built = subprocess.run([*pip, "--target", site, folder], capture_output=True, text=True)
    assert built.returncode == 0, built.stderr
    assert (site / "mycelium_desk_notes-0.1.0.dist-info" / "entry_points.txt").is_file()
    tested = subprocess.run(
        [BIN / "pytest", "-v"], cwd=folder, env=_env(site), capture_output=True, text=True
    )
    assert tested.returncode == 0, tested.stdout[-3000:] + tested.stderr[-2000:]
    passed = {
        line.split("::")[1].split()[0].split("[")[0]  # test_x[sqlite] -> test_x
        for line in tested.stdout.splitlines()
        if " PASSED" in line
    }
    assert {"test_the_entry_point_is_installed", "test_hook_on_client_created"} <= passed
    assert " failed" not in tested.stdout and " skipped" not in tested.stdout
