"""The upload route's multipart parser, on bodies read in pieces of every size, and the
spool file it streams the file into."""

from __future__ import annotations

import io
import os

import pytest
from mycelium_dropbox.hashing import ContentHasher, SpoolFile
from mycelium_dropbox.multipart import Form, FormParser
from werkzeug.datastructures import FileStorage
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.test import encode_multipart

from hub import ValidationError


class Pieces:
    """A stream that answers at most `size` bytes a read (as a socket does)."""

    def __init__(self, body: bytes, size: int) -> None:
        self._body, self._size, self._at = body, size, 0

    def readinto(self, buffer: memoryview) -> int:
        take = self._body[self._at : self._at + min(self._size, len(buffer))]
        buffer[: len(take)] = take
        self._at += len(take)
        return len(take)


def parse(body: bytes, boundary: str, size: int, limit: int = 1 << 30) -> tuple[Form, bytes]:
    got = bytearray()

    def on_file(name: str, filename: str, form: Form):
        return got.extend if name == "file" else None

    form = FormParser(Pieces(body, size), boundary.encode(), limit, on_file).parse()
    return form, bytes(got)


@pytest.mark.parametrize("size", [1, 7, 4096, 1 << 20])
def test_fields_and_a_file_in_pieces_of_any_size(size):
    data = os.urandom(300_000) + b"\r\n--" + b"\r\n" + b"--"  # delimiter-like bytes inside
    boundary, body = encode_multipart(
        {"client_id": "7", "file": FileStorage(io.BytesIO(data), filename="a b.bin")}
    )
    form, got = parse(body, boundary, size)
    assert got == data
    assert form.fields == {"client_id": ["7"]}
    assert form.files == [("file", "a b.bin")]


def test_a_preamble_and_an_epilogue_are_ignored_and_fields_may_follow_the_file():
    body = (
        b"preamble\r\n--XyZ\r\n"
        b'Content-Disposition: form-data; name="file"; filename="f.txt"\r\n'
        b"Content-Type: text/plain\r\n\r\nhello\r\n--XyZ\r\n"
        b'Content-Disposition: form-data; name="client_visible"\r\n\r\ntrue\r\n'
        b"--XyZ--\r\nepilogue"
    )
    form, got = parse(body, "XyZ", 3)
    assert got == b"hello"
    assert form.fields == {"client_visible": ["true"]}


def test_a_file_name_in_rfc_5987_form_is_decoded():
    body = (
        b'--b\r\nContent-Disposition: form-data; name="file"; '
        b"filename*=UTF-8''r%C3%A9sum%C3%A9.pdf\r\n\r\nx\r\n--b--\r\n"
    )
    assert parse(body, "b", 1 << 20)[0].files == [("file", "résumé.pdf")]


@pytest.mark.parametrize(
    "body",
    [
        b'--b\r\nContent-Disposition: form-data; name="file"; filename="f"\r\n\r\nno end',
        b'--b\nContent-Disposition: form-data; name="x"\n\nLF only\n--b--\n',
        b"--b\r\nContent-Type: text/plain\r\n\r\nno name\r\n--b--\r\n",
        b"nothing that looks like a form",
        b"--b\r\n" + b"X-Long: " + b"a" * 20_000 + b"\r\n\r\n\r\n--b--\r\n",
    ],
)
def test_a_malformed_body_is_a_400_naming_the_file(body):
    with pytest.raises(ValidationError) as caught:
        parse(body, "b", 1 << 20)
    assert "file" in caught.value.details


def test_past_the_limit_is_a_413_even_without_a_declared_length():
    boundary, body = encode_multipart(
        {"file": FileStorage(io.BytesIO(os.urandom(3 << 20)), filename="big")}
    )
    with pytest.raises(RequestEntityTooLarge):
        parse(body, boundary, 1 << 20, limit=2 << 20)


def test_the_spool_file_holds_and_hashes_every_piece_written_from_a_reused_buffer(tmp_path):
    data = os.urandom(9 * 1024 * 1024 + 123)
    spool = SpoolFile(tmp_path / "a.part")
    buffer = bytearray(1 << 20)  # reused for every piece, as the parser does
    for start in range(0, len(data), len(buffer)):
        piece = data[start : start + len(buffer)]
        buffer[: len(piece)] = piece
        with memoryview(buffer)[: len(piece)] as view:
            spool.write(view)
    spool.flush()
    expected = ContentHasher()
    expected.update(data)
    assert (tmp_path / "a.part").read_bytes() == data
    assert spool.size == len(data)
    assert spool.hexdigest() == expected.hexdigest()
    spool.close()


def test_a_failed_spool_write_is_raised_in_the_writer_s_thread(tmp_path):
    spool = SpoolFile(tmp_path / "full.part")

    class Full:
        def write(self, data):
            raise OSError(28, "No space left on device")

        def flush(self):
            pass

        def close(self):
            pass

    spool._file.close()
    spool._file = Full()  # the disk is full
    with pytest.raises(OSError, match="No space left"):
        for _ in range(50):  # a later write raises once the writing thread has failed
            spool.write(b"x" * 1024)
        spool.flush()
    with pytest.raises(OSError, match="No space left"):
        spool.flush()
    spool.close()
