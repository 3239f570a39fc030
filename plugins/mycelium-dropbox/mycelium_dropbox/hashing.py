"""Dropbox's ``content_hash``: the SHA-256 of the concatenated SHA-256s of the file's
4 MiB blocks, computed as the bytes arrive; and the spool file the upload route streams a
file to, hashing it on the way."""

from __future__ import annotations

import hashlib
import queue
import threading
from pathlib import Path
from typing import IO, Any

BLOCK = 4 * 1024 * 1024


class ContentHasher:
    """Feed bytes in any pieces; ``hexdigest()`` is Dropbox's content hash of them all."""

    def __init__(self) -> None:
        self._overall = hashlib.sha256()
        self._block = hashlib.sha256()
        self._in_block = 0
        self.size = 0

    def update(self, data: bytes | memoryview) -> None:
        view = memoryview(data)  # slices of it are not copies
        self.size += len(view)
        start = 0
        while start < len(view):
            take = min(BLOCK - self._in_block, len(view) - start)
            self._block.update(view[start : start + take])
            self._in_block += take
            start += take
            if self._in_block == BLOCK:
                self._overall.update(self._block.digest())
                self._block, self._in_block = hashlib.sha256(), 0

    def hexdigest(self) -> str:
        overall = self._overall.copy()
        if self._in_block:
            overall.update(self._block.digest())
        return overall.hexdigest()


class SpoolFile:
    """A file on disk that hashes what is written to it (a form parser's stream).

    Writing and hashing run in two threads of their own, a few pieces behind the caller:
    the file's write and hashlib both let go of the interpreter, so receiving, writing
    and hashing share the machine's cores instead of taking turns. A piece is copied once
    (the parser's buffer is reused) and that copy is shared by both threads. A failed
    write (a full disk) is raised by the next ``write`` or by ``flush``; ``flush`` returns
    once every piece is on disk and hashed."""

    QUEUED_PIECES = 8  # pieces (up to 1 MiB each) waiting for each thread at most

    def __init__(self, path: Path) -> None:
        self.path = path
        self.size = 0
        self.hasher = ContentHasher()
        self._file: IO[bytes] = open(path, "w+b")  # noqa: SIM115 - closed with the request
        self._queues: list[queue.Queue[bytes | None]] = []
        self._threads: list[threading.Thread] = []
        self._failed: BaseException | None = None

    def write(self, data: bytes | memoryview) -> int:
        self._raise_failure()
        piece = bytes(data)  # the parser's buffer is reused: the threads get their own copy
        if not self._threads:
            self._start()
        for pieces in self._queues:
            pieces.put(piece)
        self.size += len(piece)
        return len(piece)

    def _start(self) -> None:
        self._queues = [queue.Queue(self.QUEUED_PIECES) for _ in range(2)]
        self._threads = [
            threading.Thread(target=self._consume, args=(pieces, use), daemon=True)
            for pieces, use in zip(
                self._queues, (self._file.write, self.hasher.update), strict=True
            )
        ]
        for thread in self._threads:
            thread.start()

    def _consume(self, pieces: queue.Queue[bytes | None], use: Any) -> None:
        while (piece := pieces.get()) is not None:
            if self._failed is None:  # after a failure the pieces are only taken off
                try:
                    use(piece)
                except BaseException as exc:  # raised in the request's thread
                    self._failed = exc

    def _raise_failure(self) -> None:
        if self._failed is not None:
            raise self._failed

    def _drain(self) -> None:
        """Every piece written and hashed; the threads end (a later write starts them)."""
        for pieces in self._queues:
            pieces.put(None)
        for thread in self._threads:
            thread.join()
        self._queues, self._threads = [], []

    def flush(self) -> None:
        self._drain()
        self._raise_failure()
        self._file.flush()

    def hexdigest(self) -> str:
        """Dropbox's content hash of all that was written (once the threads caught up)."""
        self._drain()
        return self.hasher.hexdigest()

    def close(self) -> None:
        self._drain()
        self._file.close()

    def __getattr__(self, name: str) -> Any:  # seek, read, tell... (after flush)
        return getattr(self._file, name)
