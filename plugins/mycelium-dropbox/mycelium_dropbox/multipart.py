"""A ``multipart/form-data`` body read as a stream in large blocks: small fields kept in
memory, the one file part handed to a sink piece by piece (never held whole).

Werkzeug's form parser reads 64 KiB at a time and copies each piece several times; on a
large upload that made the web process the slowest part of the path. Here the body is
read into one reusable buffer (``readinto`` when the server's stream has it), the parts'
delimiter found with ``bytearray.find``, and the file's bytes handed on as memoryviews
of that buffer, so a byte is copied once on its way to the sink.

Lines end with CRLF, as RFC 7578 asks (browsers, curl, requests and werkzeug's test
client all send it).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.http import parse_options_header

from hub import ValidationError

READ_BYTES = 1024 * 1024
MAX_HEADERS = 16 * 1024  # a part's headers
MAX_FIELD = 64 * 1024  # a field's value
MAX_PARTS = 32

Sink = Callable[[memoryview], None]


@dataclass
class Form:
    """What the body held: its fields (name -> value, in order) and its file parts."""

    fields: dict[str, list[str]] = field(default_factory=dict)
    files: list[tuple[str, str]] = field(default_factory=list)  # (field name, file name)


def _bad(message: str) -> ValidationError:
    return ValidationError(message, {"file": [message]})


class _Reader:
    """The body in blocks: ``readinto`` on the server's stream if it has one."""

    def __init__(self, stream: Any, limit: int) -> None:
        self._stream, self._limit, self.total = stream, limit, 0
        self._block = bytearray(READ_BYTES)
        self._view = memoryview(self._block)
        self._into = getattr(stream, "readinto", None)

    def read(self) -> memoryview:
        if self._into is not None:
            got = self._into(self._view) or 0
            data = self._view[:got]
        else:
            data = memoryview(self._stream.read(READ_BYTES) or b"")
        self.total += len(data)
        if self.total > self._limit:
            raise RequestEntityTooLarge()  # the hub's 413, naming the route's limit
        return data


class FormParser:
    """``FormParser(stream, boundary, limit, on_file).parse()``: `on_file(name, filename,
    form so far)` is called when a file part begins and answers the sink for its bytes (or
    None to drop them); a body past `limit` bytes is a 413 (chunked ones included)."""

    def __init__(
        self,
        stream: Any,
        boundary: bytes,
        limit: int,
        on_file: Callable[[str, str, Form], Sink | None],
    ) -> None:
        if not boundary or len(boundary) > 200:
            raise _bad("The multipart boundary is missing or too long.")
        self._reader = _Reader(stream, limit)
        self._buf = bytearray()
        self._ended = False
        self._delimiter = b"\r\n--" + boundary
        self._on_file = on_file
        self.form = Form()

    # ----- the buffer -----

    def _more(self) -> bool:
        if self._ended:
            return False
        data = self._reader.read()
        if not data:
            self._ended = True
            return False
        self._buf += data
        return True

    def _need(self, size: int) -> None:
        while len(self._buf) < size:
            if not self._more():
                raise _bad("The multipart body ends early.")

    def _find(self, token: bytes, limit: int) -> int:
        start = 0
        while True:
            at = self._buf.find(token, start)
            if at != -1:
                return at
            if len(self._buf) > limit:
                raise _bad("A multipart part's headers are too long.")
            start = max(0, len(self._buf) - len(token) + 1)
            if not self._more():
                raise _bad("The multipart body ends early.")

    # ----- the body -----

    def parse(self) -> Form:
        # the first delimiter may follow a preamble; it has no CRLF before it at the start
        self._buf += b"\r\n"
        at = self._find(self._delimiter, 64 * 1024)
        del self._buf[: at + len(self._delimiter)]
        parts = 0
        while True:
            self._need(2)
            if self._buf[:2] == b"--":
                return self.form  # the closing delimiter; an epilogue is ignored
            if self._buf[:2] != b"\r\n":
                raise _bad("A multipart delimiter is not followed by a line break.")
            del self._buf[:2]
            parts += 1
            if parts > MAX_PARTS:
                raise _bad(f"More than {MAX_PARTS} parts.")
            self._part()

    def _part(self) -> None:
        end = self._find(b"\r\n\r\n", MAX_HEADERS)
        headers = bytes(self._buf[:end]).decode("utf-8", "replace").split("\r\n")
        del self._buf[: end + 4]
        disposition = ""
        for line in headers:
            name, _, value = line.partition(":")
            if name.strip().lower() == "content-disposition":
                disposition = value.strip()
        kind, options = parse_options_header(disposition)
        if kind != "form-data" or not options.get("name"):
            raise _bad("A multipart part has no form-data name.")
        name, filename = options["name"], options.get("filename")
        if filename is None:
            field_value = bytearray()
            self._body(field_value.extend, MAX_FIELD)
            text = field_value.decode("utf-8", "replace")
            self.form.fields.setdefault(name, []).append(text)
            return
        self.form.files.append((name, filename))
        sink = self._on_file(name, filename, self.form)
        self._body(sink or (lambda data: None), None)

    def _body(self, sink: Sink, cap: int | None) -> None:
        """Hand the part's bytes to `sink` up to the next delimiter (consumed)."""
        delimiter, keep = self._delimiter, len(self._delimiter) - 1
        taken = 0
        while True:
            at = self._buf.find(delimiter)
            upto = at if at != -1 else len(self._buf) - keep
            if upto > 0:
                taken += upto
                if cap is not None and taken > cap:
                    raise _bad(f"A form field is longer than {cap} bytes.")
                with memoryview(self._buf) as view, view[:upto] as piece:
                    sink(piece)
                del self._buf[:upto]
            if at != -1:
                del self._buf[: len(delimiter)]
                return
            if not self._more():
                raise _bad("The multipart body ends early.")
