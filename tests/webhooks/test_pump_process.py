"""The webhook pump's process (hub/core/background_process.py): a loop's body run in a forked
child, woken and stopped across a pipe, and what happens when either side dies."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from support.hub_processes import gone, wait_for

from hub.core.background import Background
from hub.core.background_process import ProcessLoop

ROOT = Path(__file__).resolve().parents[2]


def recording(path: Path):
    """A loop body that writes its process id for each round of work, and, when told to
    stop while it runs, waits for that and writes "gave back"."""

    def body(loop: Background) -> None:
        ticket = loop.ticket()
        while True:
            with path.open("a") as out:
                out.write(f"{os.getpid()}\n")
            if path.with_suffix(".hold").exists():
                loop.stopping.wait(30)
            if loop.stopping.is_set():
                with path.open("a") as out:
                    out.write("gave back\n")
                return
            if loop.finish(ticket):
                return
            ticket = loop.ticket()

    return body


def lines(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


@pytest.fixture
def started(tmp_path: Path):
    loops: list[ProcessLoop] = []

    def start(**kwargs) -> ProcessLoop:
        loop = ProcessLoop("test-loop", recording(tmp_path / "rounds.txt"), **kwargs)
        loop.start()
        loops.append(loop)
        return loop

    yield start
    for loop in loops:
        if loop.pid is not None:
            os.kill(loop.pid, signal.SIGKILL)
            os.waitpid(loop.pid, 0)


def test_each_wake_runs_the_body_in_the_child_and_a_stop_ends_it(started, tmp_path):
    rounds, prepared = tmp_path / "rounds.txt", tmp_path / "prepared"
    loop = started(prepare=prepared.touch)
    child = loop.pid
    assert child is not None and child != os.getpid()

    loop.wake()
    wait_for(lambda: lines(rounds), 10, "a round of the body")
    loop.wake()
    wait_for(lambda: len(lines(rounds)) >= 2, 10, "a second round, for the second wake")
    assert set(lines(rounds)) == {str(child)}
    assert prepared.exists()  # `prepare` ran in the child first (the parent never calls it)

    loop.stop()
    assert loop.wait_idle(10)
    assert (loop.pid, loop.exitcode) == (None, 0)
    assert gone(child)
    loop.wake()  # after a stop: ignored, nothing runs
    assert set(lines(rounds)) == {str(child)}


def test_a_stop_lets_the_running_body_give_back_before_the_child_exits(started, tmp_path):
    rounds = tmp_path / "rounds.txt"
    rounds.with_suffix(".hold").touch()  # the body waits for the stop once it runs
    loop = started()
    loop.wake()
    wait_for(lambda: lines(rounds), 10, "the body to run")

    loop.stop()
    assert loop.wait_idle(10)
    assert lines(rounds)[-1] == "gave back"
    assert loop.exitcode == 0


def test_a_sigterm_to_the_child_winds_it_down(started, tmp_path):
    """systemd's stop signals the whole group: the child winds down as on end of file."""
    rounds = tmp_path / "rounds.txt"
    rounds.with_suffix(".hold").touch()
    loop = started()
    loop.wake()
    wait_for(lambda: lines(rounds), 10, "the body to run")

    os.kill(loop.pid, signal.SIGTERM)
    assert loop.wait_idle(10)
    assert lines(rounds)[-1] == "gave back"
    assert loop.exitcode == 0


def test_a_dead_child_is_replaced_by_a_thread_of_the_parent(started, tmp_path, caplog):
    rounds = tmp_path / "rounds.txt"
    loop = started()
    child = loop.pid
    os.kill(child, signal.SIGKILL)
    wait_for(lambda: gone(child), 10, "the child to die")

    with caplog.at_level(logging.ERROR, logger="hub.core.background_process"):
        loop.wake()
    assert loop.in_thread and loop.exitcode == -signal.SIGKILL
    assert f"process {child} ended" in caplog.text
    wait_for(lambda: lines(rounds), 10, "the body to run")
    assert lines(rounds) == [str(os.getpid())]  # here, in a thread

    loop.stop()
    assert loop.wait_idle(10)


PARENT = """
import os, sys, time
from pathlib import Path
sys.path.insert(0, {tests!r})
from webhooks.test_pump_process import recording
from hub.core.background_process import ProcessLoop

rounds = Path({rounds!r})
loop = ProcessLoop("test-loop", recording(rounds))
loop.start()
loop.wake()
print(loop.pid, flush=True)
time.sleep(60)
"""


def test_the_child_winds_down_when_its_parent_is_killed(tmp_path):
    """kill -9 of the worker: the pipe's end of file tells its child to stop."""
    rounds = tmp_path / "rounds.txt"
    rounds.with_suffix(".hold").touch()
    script = PARENT.format(tests=str(ROOT / "tests"), rounds=str(rounds))
    parent = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(script)],
        stdout=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    try:
        child = int(parent.stdout.readline())
        wait_for(lambda: lines(rounds), 10, "the body to run")
        parent.kill()
        parent.wait(10)
        wait_for(lambda: gone(child), 10, "the child to exit")
        assert lines(rounds) == [str(child), "gave back"]
    finally:
        parent.kill()
        parent.wait(10)
        parent.stdout.close()
