"""gunicorn's request body read with ``readinto`` (hub.server_input): every byte of the
body, in order, whatever gunicorn read ahead; never a byte of the next request on the
connection; gunicorn's own count of what is left kept, so it finds the body read."""

from __future__ import annotations

import os
import socket
import threading

import pytest
from gunicorn.http.body import Body, ChunkedReader, LengthReader
from gunicorn.http.unreader import SocketUnreader

from hub.server_input import DirectBody, direct_input

OPEN: list[socket.socket] = []


@pytest.fixture(autouse=True)
def _close_sockets():
    yield
    while OPEN:
        OPEN.pop().close()


def _pair() -> tuple[socket.socket, socket.socket]:
    ours, theirs = socket.socketpair()
    OPEN.extend((ours, theirs))
    return ours, theirs


def _body(ahead: bytes, sent: bytes, length: int) -> tuple[Body, socket.socket, threading.Thread]:
    ours, theirs = _pair()
    unreader = SocketUnreader(ours)
    unreader.buf.write(ahead)  # what gunicorn read with the headers
    sender = threading.Thread(target=theirs.sendall, args=(sent,))
    sender.start()
    return Body(LengthReader(unreader, length)), theirs, sender


@pytest.mark.parametrize("ahead_size", [0, 10, 4096])
@pytest.mark.parametrize("buffer_size", [1, 1000, 1 << 20])
def test_the_body_whole_and_not_a_byte_more(ahead_size, buffer_size):
    data, following = os.urandom(300_000), b"GET /next HTTP/1.1\r\n\r\n"
    ahead, rest = data[:ahead_size], data[ahead_size:]
    body, _theirs, sender = _body(ahead, rest + following, len(data))
    direct = DirectBody(body)
    got, buffer = bytearray(), bytearray(buffer_size)
    while n := direct.readinto(buffer):
        got += buffer[:n]
    sender.join()
    assert bytes(got) == data
    assert body.reader.length == 0 and body.read(10) == b""
    # the next request is left where gunicorn reads it from
    assert body.reader.unreader.read(len(following)) == following


def test_what_gunicorn_buffered_comes_first_then_reading_mixes_freely():
    data = os.urandom(50_000)
    body, _theirs, sender = _body(data[:100], data[100:], len(data))
    direct = DirectBody(body)
    first = body.read(30)  # read() is gunicorn's own, and may leave bytes in its buffer
    buffer = bytearray(64 * 1024)
    got = bytearray(first)
    while n := direct.readinto(buffer):
        got += buffer[:n]
    sender.join()
    assert bytes(got) == data


def test_a_client_gone_mid_body_reads_as_the_end():
    body, theirs, sender = _body(b"", b"abc", 1000)
    sender.join()
    theirs.close()
    direct, buffer = DirectBody(body), bytearray(100)
    assert direct.readinto(buffer) == 3 and direct.readinto(buffer) == 0


def test_only_bodies_of_known_length_are_given_readinto():
    seen = {}

    def app(environ, start_response):
        seen["input"] = environ["wsgi.input"]
        return []

    ours, _ = _pair()
    known = Body(LengthReader(SocketUnreader(ours), 10))
    direct_input(app)({"wsgi.input": known}, None)
    assert isinstance(seen["input"], DirectBody)
    chunked = Body(ChunkedReader(None, SocketUnreader(ours)))
    direct_input(app)({"wsgi.input": chunked}, None)
    assert seen["input"] is chunked
