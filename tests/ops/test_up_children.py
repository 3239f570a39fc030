"""`hub up`'s children, with real processes: a child that dies is restarted, one that keeps
dying right after it starts stops `hub up`, and what ignores SIGTERM is killed."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from hub import up_children
from hub.up_children import Children, GiveUp, Signals
from hub.up_record import UpRecord, started_at


def python(code: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-c", code])


@pytest.fixture
def children(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Children:
    monkeypatch.setattr(up_children, "FIRST_PAUSE", 0.01)
    monkeypatch.setattr(up_children, "STOP_GRACE", 1.0)
    return Children(UpRecord.new(tmp_path, "http://127.0.0.1:1"), Signals())


def test_a_child_that_keeps_dying_at_start_is_restarted_then_given_up(children, capsys):
    children.start("worker", lambda: python("import sys; sys.exit(3)"))
    with pytest.raises(GiveUp, match=r"the worker process keeps stopping \(exit status 3, 5 times"):
        children.watch(interval=0.05)
    said = capsys.readouterr().err
    assert said.count("the worker process stopped (exit status 3); restarting it") == 4
    assert said.count("restarted the worker process") == 4


def test_a_restarted_child_is_recorded(children, tmp_path):
    child = children.start("web", lambda: python("import time; time.sleep(60)"))
    first = child.process
    first.kill()
    first.wait()
    deadline = time.monotonic() + 10
    while child.process is first and time.monotonic() < deadline:
        children._tend(child)
        time.sleep(0.02)
    assert child.process is not first and child.running()
    assert children.record.children["web"] == (child.process.pid, started_at(child.process.pid))
    children.stop()
    assert not child.running()


def test_stop_kills_what_ignores_sigterm_and_stops_redis_last(children, tmp_path):
    stubborn = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(60)"
    noted = tmp_path / "redis-stopped-at"
    redis_code = (
        "import signal, sys, time\n"
        "def stop(*_):\n"
        f"    open({str(noted)!r}, 'w').write(repr(time.time()))\n"
        "    sys.exit(0)\n"
        "signal.signal(signal.SIGTERM, stop)\n"
        "time.sleep(60)\n"
    )
    web = children.start("web", lambda: python(stubborn))
    redis = children.start("redis", lambda: python(redis_code))
    time.sleep(0.5)  # let the children install their handlers
    started = time.time()
    children.stop()
    assert web.process.returncode == -9  # it ignored SIGTERM for STOP_GRACE
    assert redis.process.returncode == 0
    assert float(noted.read_text()) - started >= 1.0  # Redis was told only after the web died
