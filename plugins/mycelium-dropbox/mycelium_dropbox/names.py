"""Names made valid Dropbox path components: no ``/`` or ``\\``, no control characters,
no trailing dot or space, no ``.``/``..``, at most 255 characters (a file keeps its
extension when shortened)."""

from __future__ import annotations

import re
import unicodedata

MAX_COMPONENT = 255
UNSAFE = re.compile(r'[\x00-\x1f\x7f/\\<>:"|?*]+')


def component(name: str, fallback: str = "Untitled") -> str:
    """`name` as one path component; `fallback` when nothing of it is left."""
    text = unicodedata.normalize("NFC", name)
    text = UNSAFE.sub(" ", text)
    text = re.sub(r"\s+", " ", text).strip().rstrip(". ")
    if text in ("", ".", ".."):
        text = fallback
    return _shorten(text)


def _shorten(text: str) -> str:
    if len(text) <= MAX_COMPONENT:
        return text
    stem, dot, ext = text.rpartition(".")
    if dot and 0 < len(ext) <= 16:
        return stem[: MAX_COMPONENT - len(ext) - 1].rstrip(". ") + "." + ext
    return text[:MAX_COMPONENT].rstrip(". ")


def with_suffix(name: str, suffix: str) -> str:
    """`name` with `` (suffix)`` appended, still within the length limit."""
    tail = f" ({suffix})"
    return name[: MAX_COMPONENT - len(tail)].rstrip(". ") + tail
