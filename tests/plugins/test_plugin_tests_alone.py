"""Each plugin's tests run on their own, as its author runs them (`pytest plugins/<it>/tests`,
or one file of them): its conftest registers `hub.testing` (`pytest_plugins`) before anything
imports the kit, else pytest cannot rewrite the kit's asserts and, warnings being errors,
refuses to start."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PLUGIN_TESTS = sorted(p.parent / "tests" for p in REPO.glob("plugins/*/pyproject.toml"))


def test_every_plugin_has_tests() -> None:
    assert len(PLUGIN_TESTS) >= 5 and all(folder.is_dir() for folder in PLUGIN_TESTS)


@pytest.mark.parametrize("folder", PLUGIN_TESTS, ids=lambda folder: folder.parent.name)
def test_a_plugins_tests_collect_alone(folder: Path) -> None:
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:randomly", str(folder)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert "Module already imported so cannot be rewritten" not in run.stdout + run.stderr
    assert "tests collected" in run.stdout, run.stdout[-2000:]
