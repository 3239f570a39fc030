"""A request body under gunicorn read straight into the reader's buffer.

gunicorn's ``wsgi.input`` has ``read`` but no ``readinto``: each read passes the bytes
through two ``BytesIO`` buffers and several copies, which held a large upload to a third
of what the socket delivers. :class:`DirectBody` adds ``readinto`` for a body of known
length: once gunicorn's read-ahead of this body is used up, the rest is received with
``recv_into`` into the caller's buffer, never past the body's end (the next request on a
kept-alive connection stays unread), and gunicorn's count of what is left is kept, so it
finds the body read when the request ends. Everything else is gunicorn's own body.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from gunicorn.http.body import Body, LengthReader

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def _buffered(stream: Any) -> int:
    return len(stream.buf.getbuffer())


class DirectBody:
    """gunicorn's :class:`Body` with a ``readinto`` that receives into the caller's buffer."""

    def __init__(self, body: Body) -> None:
        self._body = body

    def __getattr__(self, name: str) -> Any:  # read, readline, readlines
        return getattr(self._body, name)

    def __iter__(self) -> Any:
        return iter(self._body)

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        reader = self._body.reader
        ahead = _buffered(self._body) + _buffered(reader.unreader)
        sock = getattr(reader.unreader, "sock", None)
        if ahead or sock is None:  # what gunicorn holds already comes first, through it
            data = self._body.read(min(len(view), ahead or len(view)))
            view[: len(data)] = data
            return len(data)
        size = min(len(view), reader.length)
        if size <= 0:
            return 0
        try:
            got = int(sock.recv_into(view[:size]))
        except Exception:
            self._body.failed = True  # gunicorn then closes the connection
            raise
        reader.length -= got
        return got


def direct_input(app: WSGIApp) -> WSGIApp:
    """`app` with ``wsgi.input`` given ``readinto`` when it is a body of known length."""

    def serve(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        body = environ.get("wsgi.input")
        if isinstance(body, Body) and isinstance(body.reader, LengthReader):
            environ["wsgi.input"] = DirectBody(body)
        return app(environ, start_response)

    return serve
