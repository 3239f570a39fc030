"""Dropbox's ``content_hash``: the SHA-256 of the concatenated SHA-256s of the file's
4 MiB blocks, computed as the bytes arrive; and the spool file the upload route streams a
file to, hashing it on the way."""

from __future__ import annotations

import hashlib
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
    """A file on disk that hashes what is written to it (a form parser's stream)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.hasher = ContentHasher()
        self._file: IO[bytes] = open(path, "w+b")  # noqa: SIM115 - closed with the request

    def write(self, data: bytes | memoryview) -> int:
        self.hasher.update(data)
        return self._file.write(data)

    def __getattr__(self, name: str) -> Any:  # seek, read, tell, close, flush...
        return getattr(self._file, name)
