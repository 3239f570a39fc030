"""Destinations that cost a sender time, on loopback: one that never answers a connection
(a black hole) and one that answers a byte at a time (a trickle)."""

from __future__ import annotations

import socket
import threading


class BlackHole:
    """A listening socket whose backlog is full and that never accepts: a new connection's
    SYN is dropped, as by a host that drops packets (the sender waits for its connect
    timeout). Connections made before the backlog filled wait for an answer forever."""

    def __init__(self) -> None:
        self.server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.server.bind(("127.0.0.1", 0))
        self.server.listen(0)
        self.fillers: list[socket.socket] = []
        for _ in range(4):  # the accept queue holds backlog + 1: fill it, with room to spare
            filler = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            filler.settimeout(0.2)
            try:
                filler.connect(self.server.getsockname())
            except OSError:
                filler.close()
                break
            self.fillers.append(filler)

    @property
    def port(self) -> int:
        return int(self.server.getsockname()[1])

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def close(self) -> None:
        for filler in self.fillers:
            filler.close()
        self.server.close()


class Trickle:
    """An HTTP server that answers every request one byte every `interval` seconds: the
    whole answer (``headers=True``) or, after headers sent at once, a body of `size`."""

    def __init__(self, interval: float = 0.5, size: int = 40, headers: bool = False) -> None:
        self.interval, self.size, self.headers = interval, size, headers
        self.server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.server.bind(("127.0.0.1", 0))
        self.server.listen(64)
        self.requests = 0
        self.stopped = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    @property
    def port(self) -> int:
        return int(self.server.getsockname()[1])

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def _serve(self) -> None:
        while not self.stopped.is_set():
            try:
                conn, _ = self.server.accept()
            except OSError:
                return
            threading.Thread(target=self._answer, args=(conn,), daemon=True).start()

    def _answer(self, conn: socket.socket) -> None:
        with conn:
            try:
                conn.recv(65536)  # the request (small, one read on loopback)
                self.requests += 1
                head = f"HTTP/1.1 200 OK\r\nContent-Length: {self.size}\r\n\r\n".encode()
                if not self.headers:
                    conn.sendall(head)
                    head = b""
                for byte in head + b"x" * self.size:
                    if self.stopped.wait(self.interval):
                        return
                    conn.sendall(bytes([byte]))
            except OSError:
                return  # the sender gave up

    def close(self) -> None:
        self.stopped.set()
        self.server.close()
