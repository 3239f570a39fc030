"""hub.testing.LoopbackReceiver: what a provider posts is kept in order, the test's answer
is sent back, and waiting for more than came fails naming the count."""

from __future__ import annotations

import pytest
import requests
from werkzeug.wrappers import Request, Response

from hub.testing import LoopbackReceiver


def test_it_keeps_every_request_and_answers_200_by_default() -> None:
    with LoopbackReceiver() as receiver:
        assert receiver.url.startswith("http://127.0.0.1:")
        first = requests.post(
            f"{receiver.url}/hook?x=1", data=b"one", headers={"X-Thing": "a"}, timeout=5
        )
        requests.get(f"{receiver.url}/second", timeout=5)
        got = receiver.wait_for(2)
    assert (first.status_code, first.content) == (200, b"")
    assert [(r.method, r.path, r.query, r.body) for r in got] == [
        ("POST", "/hook", "x=1", b"one"),
        ("GET", "/second", "", b""),
    ]
    assert got[0].headers["x-thing"] == "a"  # read in any case
    with pytest.raises(requests.ConnectionError):  # stopped with the block
        requests.get(receiver.url, timeout=2)


def test_the_answer_is_the_tests_and_waiting_too_long_fails() -> None:
    def answer(request: Request) -> Response:
        return Response(request.get_data()[::-1], status=202)

    with LoopbackReceiver(answer) as receiver:
        echoed = requests.post(receiver.url, data=b"abc", timeout=5)
        assert (echoed.status_code, echoed.content) == (202, b"cba")
        with pytest.raises(AssertionError, match="1 requests came, not 2"):
            receiver.wait_for(2, timeout=0.2)
