"""`hub worker` that reports where its memory is whenever asked (bench/memory.py --trace DIR
runs the worker this way).

    python bench/traced_worker.py DIR [--heap]

A thread polls DIR for a file `want-<name>`; it then writes `<name>.json` and removes the
request. The report, after a `gc.collect()` (what is still reachable, not garbage waiting
for a collection):

- `sqlite_mb`: memory SQLite holds in this process (sqlite3_status64 MEMORY_USED: page
  caches, prepared statements, schema), and its high-water mark;
- `malloc_used_mb` / `malloc_free_mb`: glibc's heap in use and held free, all arenas
  (mallinfo2), which is where SQLite's, OpenSSL's and Python's larger blocks live;
- `objects`: the number of objects the garbage collector tracks, and `types`: the count of
  each type among them (a leak of Python objects shows as a type whose count keeps rising).

With --heap, tracemalloc runs too and `<name>.snap` holds its snapshot
(`tracemalloc.Snapshot.dump`). It slows the worker several times over (every allocation
records its traceback), so a run with --heap is for finding a Python-level leak, not for
RSS or rates.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import json
import sys
import threading
import time
import tracemalloc
from collections import Counter
from pathlib import Path
from typing import Any

FRAMES = 12
SQLITE_STATUS_MEMORY_USED = 0


class MallInfo2(ctypes.Structure):
    _fields_ = [
        (name, ctypes.c_size_t)
        for name in (
            "arena",
            "ordblks",
            "smblks",
            "hblks",
            "hblkhd",
            "usmblks",
            "fsmblks",
            "uordblks",
            "fordblks",
            "keepcost",
        )
    ]


def sqlite_memory() -> tuple[float, float]:
    """(in use, high-water) in MB, from the libsqlite3 the sqlite3 module is linked to."""
    lib = ctypes.CDLL(ctypes.util.find_library("sqlite3") or "libsqlite3.so.0")
    current, highest = ctypes.c_int64(), ctypes.c_int64()
    lib.sqlite3_status64(SQLITE_STATUS_MEMORY_USED, ctypes.byref(current), ctypes.byref(highest), 0)
    return current.value / 2**20, highest.value / 2**20


def malloc_info() -> dict[str, float]:
    libc = ctypes.CDLL(None)
    libc.mallinfo2.restype = MallInfo2
    info = libc.mallinfo2()
    return {
        "malloc_used_mb": (info.uordblks + info.hblkhd) / 2**20,
        "malloc_free_mb": info.fordblks / 2**20,
    }


def report() -> dict[str, Any]:
    gc.collect()
    objects = gc.get_objects()
    types = Counter(type(o).__qualname__ for o in objects)
    sqlite_now, sqlite_high = sqlite_memory()
    return {
        "sqlite_mb": sqlite_now,
        "sqlite_high_mb": sqlite_high,
        **malloc_info(),
        "objects": len(objects),
        "threads": threading.active_count(),
        "types": dict(types.most_common(400)),
    }


def serve_reports(folder: Path, heap: bool) -> None:
    while True:
        for request in sorted(folder.glob("want-*")):
            name = request.name.removeprefix("want-")
            if heap:
                tracemalloc.take_snapshot().dump(str(folder / f"{name}.snap"))
            temporary = folder / f"{name}.json.tmp"
            temporary.write_text(json.dumps(report()))
            temporary.rename(folder / f"{name}.json")
            request.unlink()
        time.sleep(0.2)


def main() -> None:
    folder, heap = Path(sys.argv[1]), "--heap" in sys.argv[2:]
    folder.mkdir(parents=True, exist_ok=True)
    import hub.app  # noqa: F401  (imported before tracing: traced, imports take half a minute)
    from hub.cli import main as hub_main

    if heap:
        tracemalloc.start(FRAMES)
    threading.Thread(target=serve_reports, args=(folder, heap), daemon=True).start()
    sys.argv = ["hub", "worker"]
    hub_main()


if __name__ == "__main__":
    main()
