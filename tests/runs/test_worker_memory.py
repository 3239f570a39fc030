"""The worker hands the C heap's free pages back to the system after jobs: without it,
glibc keeps what jobs and the pump's threads freed, and a busy worker's RSS creeps up."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

import hub.worker
from hub.core.runs.pending import QUEUE
from hub.testing import run_jobs
from hub.worker import HeapTrimmer

pytestmark = pytest.mark.skipif(
    hub.worker._MALLOC_TRIM is None, reason="malloc_trim is glibc's; nothing to trim elsewhere"
)
MB = 2**20


def rss() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def fragment_heap_in_a_thread(total: int) -> list[bytearray]:
    """What a pump thread leaves: many C-heap blocks freed around a few still held, in the
    thread's own malloc arena (so the heap cannot simply shrink from its top)."""
    kept: list[bytearray] = []

    def work() -> None:
        blocks = [bytearray(4000) for _ in range(total // 4000)]  # > 512 B: malloc, not pymalloc
        kept.extend(blocks[::64])
        blocks.clear()

    thread = threading.Thread(target=work)
    thread.start()
    thread.join()
    return kept  # held by the caller until it has measured


def test_the_trimmer_gives_freed_pages_of_every_arena_back():
    kept = fragment_heap_in_a_thread(64 * MB)
    before = rss()
    HeapTrimmer(seconds=0).maybe()
    assert before - rss() > 32 * MB, "the freed blocks' pages stayed resident"
    assert len(kept) == 64 * MB // 4000 // 64 + 1


def test_the_trimmer_runs_at_most_every_interval(monkeypatch):
    calls: list[int] = []
    monkeypatch.setattr(hub.worker, "_MALLOC_TRIM", calls.append)
    trimmer = HeapTrimmer(seconds=3600)
    trimmer.maybe()
    assert calls == []
    trimmer.last -= 3600
    trimmer.maybe()
    trimmer.maybe()
    assert calls == [0]


def test_a_worker_trims_after_its_jobs(app, monkeypatch):
    real, calls = hub.worker._MALLOC_TRIM, []

    def counting(pad: int) -> int:
        calls.append(pad)
        return int(real(pad))

    monkeypatch.setattr(hub.worker, "_MALLOC_TRIM", counting)
    monkeypatch.setattr(hub.worker, "TRIM_SECONDS", 0.0)
    from rq import Queue

    Queue(QUEUE, connection=app.extensions["hub.redis"]).enqueue("builtins.len", [1, 2])
    assert run_jobs(app) >= 1
    assert calls, "no trim after the job"


ARENAS_SCRIPT = """
import ctypes, os, sys, tempfile, threading
from hub.worker import limit_malloc_arenas
applied = limit_malloc_arenas()
together = threading.Barrier(8)
def work():  # all alive at once: an exiting thread's arena would go to the next one
    together.wait()
    blocks = [bytearray(4000) for _ in range(2000)]
    together.wait()
threads = [threading.Thread(target=work) for _ in range(8)]
for t in threads: t.start()
for t in threads: t.join()
libc = ctypes.CDLL(None)
libc.fopen.restype = ctypes.c_void_p
libc.malloc_info.argtypes = [ctypes.c_int, ctypes.c_void_p]
libc.fclose.argtypes = [ctypes.c_void_p]
path = tempfile.mktemp()
stream = libc.fopen(path.encode(), b"w")
libc.malloc_info(0, stream)
libc.fclose(stream)
print(applied, open(path).read().count("<heap nr="))
os.unlink(path)
"""


def arenas_used(env: dict[str, str]) -> tuple[str, int]:
    done = subprocess.run(
        [sys.executable, "-c", ARENAS_SCRIPT], env=env, capture_output=True, text=True, check=True
    )
    applied, heaps = done.stdout.split()
    return applied, int(heaps)


def test_the_worker_threads_share_two_malloc_arenas():
    env = {k: v for k, v in os.environ.items() if k != "MALLOC_ARENA_MAX"}
    assert arenas_used(env) == ("True", 2)
    # the environment's own setting wins: here glibc's default, an arena per thread
    applied, heaps = arenas_used({**env, "MALLOC_ARENA_MAX": "16"})
    assert applied == "False"
    assert heaps > 2
