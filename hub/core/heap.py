"""What start-up made, set aside from the garbage collector (``gc.freeze``).

A full collection (Python's generation 2) walks every object the collector tracks, and no
other thread of the process runs meanwhile. Once the app is made, a hub process tracks
about 200,000 objects that live as long as it does (modules, classes, functions, the app's
rules, mappers and schemas), and walking them took 120-135 ms (``bench/gc_pause.py``):
once in several thousand requests, every request in flight in that process waited as long.
``settle()`` configures the mappers (otherwise done by the first query), collects what
start-up left over, and freezes the rest, so a full collection walks only what the
process made since. Frozen objects are never freed; these would not have been anyway.

Called once per process where it starts serving: in each gunicorn worker after it made
the app (``hub.server``), and by ``hub worker`` before its loop. Not in tests, which make
an app per test in one process.
"""

from __future__ import annotations

import gc
import logging

from sqlalchemy.orm import configure_mappers

log = logging.getLogger(__name__)


def settle() -> int:
    """Freeze what the process holds now (after a collection); how many objects are frozen."""
    configure_mappers()
    gc.collect()
    gc.freeze()
    frozen = gc.get_freeze_count()
    log.info("%d objects of start-up frozen out of full collections", frozen)
    return frozen
