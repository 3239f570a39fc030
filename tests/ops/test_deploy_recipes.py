"""The deploy recipes, checked as far as a machine without a container runtime can: every
command they run is a `hub` command the Procfile runs, every setting they name exists,
ports agree, no secret is baked in, and the compose file names only services it defines.
(The Procfile itself is run for real in tests/e2e/test_procfile_e2e.py.)"""

from __future__ import annotations

import configparser
import re
import shlex
from pathlib import Path
from typing import Any

import click
import pytest
import yaml

from hub.cli import main
from hub.config import SETTINGS

ROOT = Path(__file__).resolve().parents[2]
SETTING_NAMES = {setting.name for setting in SETTINGS}
SECRETS = ("HUB_ENCRYPTION_KEYS", "HUB_SECRET_KEY", "HUB_METRICS_TOKEN", "POSTGRES_PASSWORD")


def procfile() -> dict[str, list[str]]:
    """Process type -> its command's words, `exec` dropped and ${PORT:-8000} as 8000."""
    found = {}
    for line in (ROOT / "Procfile").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, command = line.partition(":")
            command = re.sub(r"\$\{PORT:-(\d+)\}", r"\1", command)
            words = shlex.split(command)
            found[name.strip()] = words[1:] if words[0] == "exec" else words
    return found


def hub_command(words: list[str]) -> click.Context:
    """Parse `hub ...` as the `hub` command would; a missing command or option fails."""
    assert words[0] == "hub", words
    command: click.Command = main
    args = words[1:]
    ctx = main.make_context("hub", list(args), resilient_parsing=True)
    while isinstance(command, click.Group):
        found = command.get_command(ctx, args[0])
        assert found is not None, f"no command {args[0]!r} in {words}"
        command, args = found, args[1:]
    return command.make_context(command.name, list(args))


def option(words: list[str], name: str) -> str:
    return words[words.index(name) + 1]


def test_procfile_runs_release_web_and_worker_as_hub_commands():
    processes = procfile()
    assert set(processes) == {"release", "web", "worker"}
    assert processes["release"] == ["hub", "db", "upgrade"]
    assert processes["worker"] == ["hub", "worker"]
    assert processes["web"][:2] == ["hub", "serve"]
    for words in processes.values():
        hub_command(words)
    assert hub_command(processes["web"]).params["host"] == "0.0.0.0"


# ----- Dockerfile -----


def dockerfile() -> list[tuple[str, str]]:
    """(instruction, arguments), continuation lines joined, comments dropped."""
    text = (ROOT / "Dockerfile").read_text()
    logical = re.sub(
        r"\\\n",
        " ",
        "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#")),
    )
    found = []
    for line in logical.splitlines():
        if line.strip():
            instruction, _, arguments = line.strip().partition(" ")
            found.append((instruction.upper(), arguments.strip()))
    return found


def exec_form(arguments: str) -> list[str]:
    words = yaml.safe_load(arguments)  # a JSON array is YAML too
    assert isinstance(words, list), f"shell form: {arguments}"
    return words


def docker_env() -> dict[str, str]:
    found = {}
    for instruction, arguments in dockerfile():
        if instruction == "ENV":
            found.update(dict(pair.split("=", 1) for pair in shlex.split(arguments)))
    return found


def test_dockerfile_slim_base_non_root_and_no_secrets():
    steps = dockerfile()
    instructions = [instruction for instruction, _ in steps]
    assert steps[0][0] == "FROM" and re.fullmatch(r"python:3\.1\d-slim", steps[0][1])
    users = [arguments for instruction, arguments in steps if instruction == "USER"]
    assert users and users[-1] not in ("root", "0")
    assert instructions.index("USER") < instructions.index("CMD")
    assert not [i for i in instructions if i in ("ARG", "ADD")]  # nothing fetched or passed
    for name in docker_env():
        assert name not in SECRETS and not re.search("KEY|SECRET|TOKEN|PASSWORD", name), name
        assert name in SETTING_NAMES or name.startswith(("PYTHON", "PIP_")), name


def test_dockerfile_installs_the_hub_and_every_plugin_of_the_repository():
    steps = dockerfile()
    for instruction, arguments in steps:
        if instruction == "COPY":
            for source in shlex.split(arguments)[:-1]:
                assert (ROOT / source).exists(), source
    install = next(a for i, a in steps if i == "RUN" and "pip install" in a)
    words = shlex.split(install)
    assert "." in words and "constraints.txt" in words
    plugins = {p.parent.name for p in ROOT.glob("plugins/*/pyproject.toml")}
    assert {Path(w).name for w in words if w.startswith("./plugins/")} == plugins


def test_dockerfile_serves_as_the_procfile_and_checks_readiness_on_its_port():
    steps = dict(dockerfile())
    command = exec_form(steps["CMD"])
    web = procfile()["web"]
    assert command[:2] == web[:2]
    assert hub_command(command).params == hub_command(web).params
    port = option(command, "--port")
    assert steps["EXPOSE"] == port == docker_env()["HUB_PORT"]
    check = steps["HEALTHCHECK"]
    assert "/api/health/ready" in check
    assert "os.environ['HUB_PORT']" in check
    probe = exec_form(check.partition("CMD ")[2])
    assert probe[:2] == ["python", "-c"]
    compile(probe[2], "HEALTHCHECK", "exec")  # the probe is Python that compiles


# ----- compose.yaml -----


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "compose.yaml").read_text())


def test_compose_names_only_services_it_defines(compose):
    services = compose["services"]
    assert set(services) == {"postgres", "redis", "migrate", "web", "worker"}
    for name, service in services.items():
        for needed in service.get("depends_on", {}):
            assert needed in services, f"{name} depends on unknown {needed}"
        for volume in service.get("volumes", []):
            assert volume.split(":")[0] in compose["volumes"], volume
    assert services["worker"]["deploy"]["replicas"] >= 2
    assert services["migrate"]["restart"] == "no"
    for name in ("web", "worker"):
        assert services[name]["depends_on"]["migrate"] == {
            "condition": "service_completed_successfully"
        }


def test_compose_runs_the_procfiles_commands_in_the_image(compose):
    services = compose["services"]
    processes = procfile()
    assert services["migrate"]["command"] == processes["release"]
    assert services["worker"]["command"] == processes["worker"]
    web = services["web"]["command"]
    assert hub_command(web).params == hub_command(processes["web"]).params
    target = services["web"]["ports"][0].rpartition(":")[2]
    assert target == option(web, "--port")
    for name in ("migrate", "web", "worker"):
        assert services[name]["build"] == "."  # the Dockerfile beside it


def test_compose_settings_exist_and_secrets_come_from_outside(compose):
    for name in ("migrate", "web", "worker"):
        environment = compose["services"][name]["environment"]
        for setting, value in environment.items():
            assert setting in SETTING_NAMES, setting
            if setting in SECRETS:
                assert re.fullmatch(r"\$\{\w+:\?[^}]+\}", value), setting
        assert "${POSTGRES_PASSWORD:?" in environment["HUB_DATABASE_URL"]
        assert environment["REDIS_URL"].startswith("redis://redis:")
        assert "@postgres:" in environment["HUB_DATABASE_URL"]


# ----- systemd -----


def unit(name: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string((ROOT / "deploy" / "systemd" / name).read_text())
    return parser


@pytest.mark.parametrize(
    ("name", "process"),
    [
        ("hub-web.service", "web"),
        ("hub-worker@.service", "worker"),
        ("hub-migrate.service", "release"),
    ],
)
def test_systemd_units_run_the_procfiles_commands(name, process):
    service = unit(name)["Service"]
    words = shlex.split(service["ExecStart"])
    assert words[0] == "/opt/mycelium-hub/venv/bin/hub"
    words[0] = "hub"
    expected = procfile()[process]
    assert words[:2] == expected[:2]
    assert hub_command(words).params == hub_command(expected).params
    assert service["User"] not in ("root", "0")
    assert service["EnvironmentFile"] == "/etc/mycelium-hub/hub.env"
    if process != "release":
        assert int(service["TimeoutStopSec"]) >= 20  # a worker gives back its runs first
        assert unit(name)["Install"]["WantedBy"] == "multi-user.target"
