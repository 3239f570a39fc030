"""The emulated account's files: folders and files by lower-cased path, the change log
behind list_folder cursors, upload sessions with their offsets, and shared links.

File bytes are not kept (a benchmark sends gigabytes): a file is its size and its
``content_hash``, computed as the bytes arrive. Every change appends to the log; a cursor
is an immutable record (the snapshot page it continues, or the log position it reads
from), so reading the same cursor twice answers the same page, as Dropbox does.
"""

from __future__ import annotations

import hashlib
import itertools
import secrets
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from mycelium_dropbox.emulator.errors import ApiError, path_error, tag

BLOCK = 4 * 1024 * 1024


def stamp() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class ContentHasher:
    """Dropbox's content hash: SHA-256 of the concatenated SHA-256s of 4 MiB blocks."""

    def __init__(self) -> None:
        self._blocks = hashlib.sha256()
        self._block = hashlib.sha256()
        self._filled = 0
        self.size = 0

    def update(self, data: bytes) -> None:
        self.size += len(data)
        view = memoryview(data)
        while view:
            take = min(BLOCK - self._filled, len(view))
            self._block.update(view[:take])
            self._filled += take
            view = view[take:]
            if self._filled == BLOCK:
                self._blocks.update(self._block.digest())
                self._block, self._filled = hashlib.sha256(), 0

    def hexdigest(self) -> str:
        blocks = self._blocks.copy()
        if self._filled:
            blocks.update(self._block.digest())
        return blocks.hexdigest()


@dataclass
class Session:
    id: str
    hasher: ContentHasher = field(default_factory=ContentHasher)
    closed: bool = False
    finished: bool = False

    @property
    def offset(self) -> int:
        return self.hasher.size


@dataclass(frozen=True)
class Cursor:
    path: str  # lower-cased folder listed ("" = root)
    recursive: bool
    generation: int
    seq: int  # log position the listing was taken at
    pending: tuple[dict[str, Any], ...] = ()  # entries still to page out
    continues: bool = False  # a page of a listing (True) or a read of the log (False)


def parent(path: str) -> str:
    return path.rsplit("/", 1)[0]


def under(path: str, folder: str, recursive: bool) -> bool:
    if folder == "":
        return recursive or path.count("/") == 1
    if not path.startswith(folder + "/"):
        return False
    return recursive or parent(path) == folder


class Store:
    """Everything in the emulated Dropbox account."""

    def __init__(self) -> None:
        self.entries: dict[str, dict[str, Any]] = {}  # path_lower -> metadata
        self.log: list[tuple[int, dict[str, Any]]] = []  # (seq, metadata after the change)
        self.cursors: dict[str, Cursor] = {}
        self.sessions: dict[str, Session] = {}
        self.links: dict[str, dict[str, Any]] = {}  # path_lower -> SharedLinkMetadata
        self.generation = 0
        self.page_size = 2000
        self.allocated = 2 * 1024**4
        self.lock = threading.RLock()
        self._seq = itertools.count(1)
        self._ids = itertools.count(1)
        self.seq = 0

    # ----- changes -----

    def _changed(self, meta: dict[str, Any]) -> None:
        self.seq = next(self._seq)
        self.log.append((self.seq, dict(meta)))

    def _new_id(self) -> str:
        return f"id:emu{next(self._ids):06d}{secrets.token_hex(4)}"

    def used(self) -> int:
        return sum(int(e.get("size", 0)) for e in self.entries.values() if e[".tag"] == "file")

    # ----- folders -----

    def make_folder(self, display: str, exist_ok: bool = False) -> dict[str, Any]:
        lower = _check_path(display).lower()
        found = self.entries.get(lower)
        if found is not None:
            if exist_ok and found[".tag"] == "folder":
                return found
            raise path_error("conflict", found[".tag"])
        if parent(lower):
            self.make_folder(parent(display), exist_ok=True)
        meta = tag("folder", name=display.rsplit("/", 1)[1], path_lower=lower, path_display=display)
        meta["id"] = self._new_id()
        self.entries[lower] = meta
        self._changed(meta)
        return meta

    # ----- files -----

    def commit(
        self, commit: dict[str, Any], hasher: ContentHasher, session_id: str | None = None
    ) -> dict[str, Any]:
        """Write a file as ``upload`` / ``upload_session/finish`` do (``mode add``)."""
        display = _check_path(str(commit.get("path") or ""))
        mode = commit.get("mode") or "add"
        mode = mode[".tag"] if isinstance(mode, dict) else mode
        if self.used() + hasher.size > self.allocated:
            raise _write_failed("insufficient_space", tag("insufficient_space"), session_id)
        found = self.entries.get(display.lower())
        if found is not None and found[".tag"] == "file" and mode == "add":
            if found["content_hash"] == hasher.hexdigest():
                return found  # identical content: no write, no conflict
            if not commit.get("autorename"):
                raise _write_failed(
                    "conflict/file", tag("conflict", conflict=tag("file")), session_id
                )
            display = self._free_name(display)
        elif found is not None and found[".tag"] == "folder":
            raise _write_failed(
                "conflict/folder", tag("conflict", conflict=tag("folder")), session_id
            )
        if parent(display):
            self.make_folder(parent(display), exist_ok=True)
        return self._write(display, hasher, found if mode == "overwrite" else None)

    def _free_name(self, display: str) -> str:
        folder, name = display.rsplit("/", 1)
        stem, dot, ext = name.rpartition(".")
        if not stem:
            stem, dot, ext = name, "", ""
        for number in itertools.count(1):
            candidate = f"{folder}/{stem} ({number}){dot}{ext}"
            if candidate.lower() not in self.entries:
                return candidate
        raise AssertionError("unreachable")

    def _write(
        self, display: str, hasher: ContentHasher, previous: dict[str, Any] | None
    ) -> dict[str, Any]:
        now = stamp()
        meta = tag(
            "file",
            name=display.rsplit("/", 1)[1],
            path_lower=display.lower(),
            path_display=display,
            id=previous["id"] if previous else self._new_id(),
            client_modified=now,
            server_modified=now,
            rev=secrets.token_hex(7),
            size=hasher.size,
            is_downloadable=True,
            content_hash=hasher.hexdigest(),
        )
        self.entries[display.lower()] = meta
        self._changed(meta)
        return meta

    def delete(self, display: str) -> dict[str, Any]:
        lower = display.lower()
        found = self.entries.get(lower)
        if found is None:
            raise path_error("not_found", field="path_lookup")
        for path in [p for p in self.entries if p == lower or p.startswith(lower + "/")]:
            del self.entries[path]
        gone = tag(
            "deleted", name=found["name"], path_lower=lower, path_display=found["path_display"]
        )
        self._changed(gone)
        return found

    def move(self, from_path: str, to_path: str, autorename: bool) -> dict[str, Any]:
        source = self.entries.get(from_path.lower())
        if source is None:
            raise path_error("not_found", field="from_lookup")
        to_path = _check_path(to_path)
        if to_path.lower() in self.entries and to_path.lower() != from_path.lower():
            if not autorename:
                raise path_error("conflict", self.entries[to_path.lower()][".tag"], "to")
            to_path = self._free_name(to_path)
        if parent(to_path):
            self.make_folder(parent(to_path), exist_ok=True)
        old = from_path.lower()
        moved = sorted(p for p in self.entries if p == old or p.startswith(old + "/"))
        metas = [self.entries[p] for p in moved]
        self.delete(source["path_display"])
        for meta in metas:
            display = to_path + meta["path_display"][len(source["path_display"]) :]
            copy = {**meta, "path_display": display, "path_lower": display.lower()}
            copy["name"] = display.rsplit("/", 1)[1]
            self.entries[display.lower()] = copy
            self._changed(copy)
        return self.entries[to_path.lower()]

    # ----- listing and cursors -----

    def list_folder(self, path: str, recursive: bool) -> dict[str, Any]:
        lower = path.lower().rstrip("/")
        if lower and (lower not in self.entries or self.entries[lower][".tag"] != "folder"):
            raise path_error("not_found")
        found = sorted(
            (e for p, e in self.entries.items() if under(p, lower, recursive)),
            key=lambda e: e["path_lower"],
        )
        return self._page(Cursor(lower, recursive, self.generation, self.seq, tuple(found), True))

    def list_continue(self, token: str) -> dict[str, Any]:
        cursor = self.cursors.get(token)
        if cursor is None:
            raise ApiError(400, "Invalid cursor", None)
        if cursor.generation != self.generation:
            raise ApiError(409, "reset/..", tag("reset"))
        if cursor.continues:
            return self._page(cursor)
        latest: dict[str, dict[str, Any]] = {}
        for seq, meta in self.log:
            if seq > cursor.seq and under(meta["path_lower"], cursor.path, cursor.recursive):
                latest.pop(meta["path_lower"], None)
                latest[meta["path_lower"]] = meta
        changes = tuple(latest.values())
        return self._page(
            Cursor(cursor.path, cursor.recursive, self.generation, self.seq, changes, True)
        )

    def _page(self, cursor: Cursor) -> dict[str, Any]:
        page, rest = cursor.pending[: self.page_size], cursor.pending[self.page_size :]
        following = Cursor(
            cursor.path, cursor.recursive, cursor.generation, cursor.seq, rest, bool(rest)
        )
        token = "AAE" + secrets.token_urlsafe(24)
        self.cursors[token] = following
        return {"entries": [dict(e) for e in page], "cursor": token, "has_more": bool(rest)}

    def latest_cursor(self, path: str, recursive: bool) -> str:
        token = "AAE" + secrets.token_urlsafe(24)
        self.cursors[token] = Cursor(path.lower().rstrip("/"), recursive, self.generation, self.seq)
        return token

    def changed_since(self, token: str) -> bool:
        cursor = self.cursors.get(token)
        if cursor is None or cursor.generation != self.generation:
            return True  # the client will learn of the reset when it continues
        return any(
            seq > cursor.seq and under(m["path_lower"], cursor.path, cursor.recursive)
            for seq, m in self.log
        )

    # ----- shared links -----

    def shared_link(self, path: str, with_settings: bool) -> dict[str, Any]:
        meta = self.entries.get(path.lower())
        if meta is None:
            raise path_error("not_found")
        existing = self.links.get(path.lower())
        if existing is not None:
            detail = None if with_settings else tag("metadata", metadata=existing)
            error = tag("shared_link_already_exists", shared_link_already_exists=detail)
            if detail is None:
                error.pop("shared_link_already_exists")
            raise ApiError(409, "shared_link_already_exists/..", error)
        kind = "s" if meta[".tag"] == "file" else "sh"
        link = tag(
            meta[".tag"],
            url=f"https://www.dropbox.com/{kind}/{secrets.token_urlsafe(9)}/{meta['name']}?dl=0",
            name=meta["name"],
            path_lower=meta["path_lower"],
            id=meta["id"],
            link_permissions=_PERMISSIONS,
        )
        self.links[path.lower()] = link
        return link


_PERMISSIONS: dict[str, Any] = {
    "resolved_visibility": {".tag": "public"},
    "can_revoke": True,
    "visibility_policies": [],
    "can_set_expiry": False,
    "can_remove_expiry": False,
    "allow_download": True,
    "can_allow_download": True,
    "can_disallow_download": False,
    "allow_comments": True,
    "team_restricts_comments": False,
}


def _write_failed(summary: str, reason: dict[str, Any], session_id: str | None) -> ApiError:
    if session_id is None:  # files/upload: UploadWriteFailed inlined
        return ApiError(409, f"path/{summary}/..", tag("path", reason=reason, upload_session_id=""))
    return ApiError(409, f"path/{summary}/..", tag("path", path=reason))


def _check_path(path: str) -> str:
    if not path.startswith("/") or path.endswith("/") or "//" in path:
        raise path_error("malformed_path")
    for part in path.split("/")[1:]:
        if part in (".", "..") or part.endswith((" ", ".")) or "\\" in part:
            raise path_error("malformed_path")
        if any(ord(c) < 32 for c in part) or len(part) > 255:
            raise path_error("malformed_path")
    return path
