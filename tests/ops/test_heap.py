"""What start-up made is frozen out of the garbage collector's full collections in the
processes that serve (hub/core/heap.py): each web worker of `hub serve`, and `hub worker`.
Each check runs in processes of its own: freezing the test process would keep every
test's app alive."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import requests
from support.net import free_port

FROZEN = re.compile(r"pid=(\d+) (\d+) objects of start-up frozen out of full collections")


def environment(settings: dict[str, Any]) -> dict[str, str]:
    """The test's settings, with the processes' INFO lines in their logs."""
    return {**os.environ, **{k: str(v) for k, v in settings.items()}, "HUB_LOG_LEVEL": "INFO"}


def test_settle_leaves_the_collector_only_what_comes_after(hub_config, app):
    script = (
        "import gc, json\n"
        "from hub.app import create_app\n"
        "from hub.core import heap\n"
        "app = create_app()\n"
        "before = len(gc.get_objects())\n"
        "frozen = heap.settle()\n"
        "print(json.dumps([before, frozen, gc.get_freeze_count(), len(gc.get_objects())]))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        env=environment(hub_config),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    before, frozen, freeze_count, after = (int(n) for n in done.stdout.strip()[1:-1].split(","))
    assert frozen == freeze_count
    assert frozen > 50_000  # modules, classes, the app: what a process keeps to its end
    assert after < before // 100  # what a full collection still walks: next to nothing
    assert FROZEN.search(done.stderr)  # said in the process's log


def test_hub_worker_settles_before_its_loop(hub_config, app):
    done = subprocess.run(
        [sys.executable, "-m", "hub.cli", "worker", "--burst"],
        env=environment(hub_config),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    said = FROZEN.search(done.stderr)
    assert said is not None and int(said.group(2)) > 50_000
    assert done.stderr.index(said.group(0)) < done.stderr.index("worker started")


def test_each_web_worker_of_hub_serve_settles(hub_config, app, tmp_path: Path):
    port = free_port()
    log = tmp_path / "serve.log"
    command = [sys.executable, "-m", "hub.cli", "serve", "--port", str(port), "--workers", "2"]
    with log.open("w") as out:
        server = subprocess.Popen(command, env=environment(hub_config), stderr=out, stdout=out)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and len(FROZEN.findall(log.read_text())) < 2:
            time.sleep(0.1)
        answer = requests.get(f"http://127.0.0.1:{port}/api/health", timeout=5)
        assert answer.status_code == 200
    finally:
        server.terminate()
        server.wait(15)
    said = FROZEN.findall(log.read_text())
    assert len({pid for pid, _ in said}) == 2, log.read_text()[-2000:]  # one per web worker
    assert server.pid not in {int(pid) for pid, _ in said}  # the workers, not the arbiter
    assert all(int(count) > 50_000 for _, count in said)
