"""One webhook POST's CPU: the pump's `send()` (signed, through the egress guard's
EgressPool) against a plain urllib3 keep-alive loop and http.client alone, one thread each,
to the loopback receiver of bench/webhooks.py.

    .venv/bin/python bench/webhook_send.py [--posts 5000] [--rounds 3]

Prints, per round, this process's CPU per POST (the receiver is a child process) and POSTs
per second, for each way of sending, taking turns.
"""

from __future__ import annotations

import argparse
import base64
import http.client
import ipaddress
import os
import statistics
import time
from collections.abc import Callable
from urllib.parse import urlsplit

import urllib3
from webhooks import HEADERS, Receiver, sample_body

from hub.core.egress import EgressPolicy
from hub.core.egress_http import EgressPool, LeanResponse
from hub.core.webhooks.delivery import Claimed, SendSettings, Target, send
from hub.core.webhooks.policy import Policy


def urllib3_loop(url: str, body: bytes, count: int) -> None:
    with urllib3.PoolManager(retries=False, timeout=urllib3.Timeout(15)) as pool:
        for _ in range(count):
            response = pool.urlopen("POST", url, body=body, headers=HEADERS)
            assert response.status == 200


def http_client_loop(url: str, body: bytes, count: int) -> None:
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=15)
    conn.response_class = LeanResponse
    try:
        for _ in range(count):
            conn.request("POST", parts.path, body=body, headers=HEADERS)
            response = conn.getresponse()
            response.read()
            assert response.status == 200
    finally:
        conn.close()


def hub_send_loop(url: str, body: bytes, count: int) -> None:
    policy = EgressPolicy(allow_http=True, allowed_cidrs=(ipaddress.ip_network("127.0.0.0/8"),))
    settings = SendSettings(timeout=15.0, user_agent="Mycelium-Webhooks/bench", policy=Policy())
    secret = "whsec_" + base64.b64encode(os.urandom(24)).decode()
    target = Target(1, url, [secret], True, None)
    text = body.decode()
    with EgressPool(policy, maxsize=1) as pool:
        for n in range(count):
            delivery = Claimed(n, 1, 1, f"evt_{n}", "client.created", text, 0, False, None)
            outcome = send(pool, target, delivery, settings)
            assert outcome.status == 200, outcome


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    ways: dict[str, Callable[[str, bytes, int], None]] = {
        "urllib3 loop": urllib3_loop,
        "http.client loop": http_client_loop,
        "hub send()": hub_send_loop,
    }
    cpu: dict[str, list[float]] = {name: [] for name in ways}
    receiver, body = Receiver(), sample_body()
    try:
        url = receiver.url("/send")
        for round_ in range(args.rounds):
            for name, loop in ways.items():
                started, wall = time.process_time(), time.perf_counter()
                loop(url, body, args.posts)
                used, wall = time.process_time() - started, time.perf_counter() - wall
                cpu[name].append(used / args.posts * 1000)
                print(
                    f"round {round_ + 1}: {name:<17} {cpu[name][-1]:.3f} ms CPU per POST, "
                    f"{args.posts / wall:.0f} POSTs/s"
                )
    finally:
        receiver.stop()
    for name, figures in cpu.items():
        print(f"{name}: median {statistics.median(figures):.3f} ms CPU per POST")


if __name__ == "__main__":
    main()
