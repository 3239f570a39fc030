"""Machines for end-to-end tests: network namespaces of this machine on one bridge, each
with its own address, and TCP forwarders that make the host's loopback services (the
test PostgreSQL and Redis) reachable at the bridge's address. Needs root and `ip`."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress


def cannot_make_namespaces() -> str | None:
    if shutil.which("ip") is None:
        return "the `ip` command (iproute2) is missing"
    if os.geteuid() != 0:
        return "`ip netns` needs root"
    return None


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True)


class Network:
    """A bridge with the host at `<prefix>.1`, and namespaces added with `machine()`."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.tag = f"{os.getpid() % 100000}"
        self.bridge = f"hubbr{self.tag}"
        self.host = f"{prefix}.1"
        self.machines: list[str] = []
        _ip("link", "add", self.bridge, "type", "bridge")
        _ip("addr", "add", f"{self.host}/24", "dev", self.bridge)
        _ip("link", "set", self.bridge, "up")

    def machine(self, number: int) -> tuple[str, str]:
        """A namespace named for `number`, at `<prefix>.<number>`: (its name, its address)."""
        name, veth, address = f"hub{self.tag}m{number}", f"hubv{self.tag}m{number}", ""
        address = f"{self.prefix}.{number}"
        _ip("netns", "add", name)
        self.machines.append(name)
        _ip("link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", name)
        _ip("link", "set", veth, "master", self.bridge, "up")
        _ip("netns", "exec", name, "ip", "addr", "add", f"{address}/24", "dev", "eth0")
        _ip("netns", "exec", name, "ip", "link", "set", "eth0", "up")
        _ip("netns", "exec", name, "ip", "link", "set", "lo", "up")
        return name, address

    def close(self) -> None:
        for name in self.machines:
            subprocess.run(["ip", "netns", "delete", name], check=False)
        subprocess.run(["ip", "link", "delete", self.bridge], check=False)


@contextmanager
def network(prefix: str) -> Iterator[Network]:
    made = Network(prefix)
    try:
        yield made
    finally:
        made.close()


class Forwarder:
    """Accepts on (host, any port) and relays each connection to 127.0.0.1:`target`."""

    def __init__(self, host: str, target: int) -> None:
        self.target = target
        self.server = socket.create_server((host, 0))
        self.port = int(self.server.getsockname()[1])
        self.open: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                inbound, _ = self.server.accept()
            except OSError:
                return
            outbound = socket.create_connection(("127.0.0.1", self.target))
            self.open += [inbound, outbound]
            for source, sink in ((inbound, outbound), (outbound, inbound)):
                threading.Thread(target=self._pipe, args=(source, sink), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        with suppress(OSError):
            while data := source.recv(65536):
                sink.sendall(data)
        with suppress(OSError):
            sink.shutdown(socket.SHUT_WR)

    def close(self) -> None:
        self.server.close()
        for sock in self.open:
            with suppress(OSError):
                sock.close()
