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

    The hashing runs in a thread of its own, a few pieces behind the writing: hashlib
    lets go of the interpreter while it hashes, so receiving, writing and hashing share
    the machine's cores instead of taking turns."""

    QUEUED_PIECES = 8  # about 8 MiB held at most while the hash catches up

    def __init__(self, path: Path) -> None:
        self.path = path
        self.size = 0
        self.hasher = ContentHasher()
        self._file: IO[bytes] = open(path, "w+b")  # noqa: SIM115 - closed with the request
        self._pieces: queue.Queue[bytes | None] = queue.Queue(self.QUEUED_PIECES)
        self._hashing: threading.Thread | None = None

    def write(self, data: bytes | memoryview) -> int:
        piece = bytes(data)  # the parser's buffer is reused: the hash gets its own copy
        if self._hashing is None:
            self._hashing = threading.Thread(target=self._hash, daemon=True)
            self._hashing.start()
        self._pieces.put(piece)
        self.size += len(piece)
        return self._file.write(piece)

    def _hash(self) -> None:
        while (piece := self._pieces.get()) is not None:
            self.hasher.update(piece)

    def hexdigest(self) -> str:
        """Dropbox's content hash of all that was written (once the hash caught up)."""
        self._stop_hashing()
        return self.hasher.hexdigest()

    def _stop_hashing(self) -> None:
        if self._hashing is not None:
            self._pieces.put(None)
            self._hashing.join()
            self._hashing = None

    def close(self) -> None:
        self._stop_hashing()
        self._file.close()

    def __getattr__(self, name: str) -> Any:  # seek, read, tell, flush...
        return getattr(self._file, name)
