"""What start-up made is frozen out of the garbage collector's full collections in the
processes that serve (hub/core/heap.py): each web worker of `hub serve`, and `hub worker`.
Each check runs in processes of its own: freezing the test process would keep every
test's app alive."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import requests
from support.hub_processes import HubProcess, hub_env, wait_for
from support.net import free_port

FROZEN = re.compile(r"pid=(\d+) (\d+) objects of start-up frozen out of full collections")


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
        env=hub_env(hub_config, HUB_LOG_LEVEL="INFO"),
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
        env=hub_env(hub_config, HUB_LOG_LEVEL="INFO"),
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
    args = ["serve", "--port", str(port), "--workers", "2"]
    server = HubProcess(args, hub_env(hub_config, HUB_LOG_LEVEL="INFO"), tmp_path / "serve.log")
    try:
        wait_for(lambda: len(FROZEN.findall(server.output())) == 2, 30, "two settled workers")
        answer = requests.get(f"http://127.0.0.1:{port}/api/health", timeout=5)
        assert answer.status_code == 200
    finally:
        server.stop()
    said = FROZEN.findall(server.output())
    assert len({pid for pid, _ in said}) == 2, server.output()[-2000:]  # one per web worker
    assert server.pid not in {int(pid) for pid, _ in said}  # the workers, not the arbiter
    assert all(int(count) > 50_000 for _, count in said)
