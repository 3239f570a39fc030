"""The pump's lean HTTP path sends and reads exactly what urllib3 and http.client would;
its connections are kept alive, reconnected, verified and given up as a client must."""

from __future__ import annotations

import http.client
import io

import pytest

from hub.core.egress_http import HeaderBlock, parse_headers

HEADER_BLOCKS = [
    b"Content-Type: text/plain\r\nContent-Length: 2\r\n\r\n",
    b"X-A:no-space\r\nX-B:  \t spaced  \r\nX-A: again\r\nEmpty:\r\n\r\n",
    b"Folded: first\r\n  second line\r\nNext: 1\r\n\r\n",
    b"Space Before : colon\r\nOk: 1\r\n\r\n",
    b"no colon at all\r\nOk: 1\r\n\r\n",
    b"Lone: a\rb\r\n\r\n",
    b"Bare-LF: 1\nOther: 2\n\n",
    b"Latin: caf\xe9\r\n\r\n",
    b"Unterminated: 1\r\n",
]


@pytest.mark.parametrize("raw", HEADER_BLOCKS)
def test_parse_headers_gives_the_message_http_client_gives(raw):
    ours, theirs = parse_headers(io.BytesIO(raw)), http.client.parse_headers(io.BytesIO(raw))
    assert ours.items() == theirs.items()
    assert [type(d) for d in ours.defects] == [type(d) for d in theirs.defects]
    assert (ours.get_payload() or "") == (theirs.get_payload() or "")


def test_a_header_block_refuses_what_putheader_refuses():
    with pytest.raises(ValueError):
        HeaderBlock({"X-Event": "a\r\nInjected: 1"})
    with pytest.raises(ValueError):
        HeaderBlock({"Bad:Name": "1"})
    with pytest.raises(UnicodeEncodeError):
        HeaderBlock({"X-Event": "\u2603"})
    block = HeaderBlock({"A": "1"})
    block["B"] = "2"
    assert block.copy().block == b"A: 1\r\nB: 2"
