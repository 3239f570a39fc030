"""The email plugin's queue: emails queued per second, and sent per second to a loopback SMTP
server over one reused connection, beside one connection per email, in the same run.

A real aiosmtpd server runs in a child process (STARTTLS with a certificate made here, AUTH
required), so sender and server do not share a GIL. The hub runs in-process on a fresh
SQLite database (or ``--database-url``) and an embedded Redis (or REDIS_URL's database 13,
emptied before and after). Emails are queued through ``POST /api/integrations/smtp/emails``
or ``POST .../emails/batch`` in batches of ``--batch`` (the Flask test client: the whole
request path, no network) and sent by the plugin's
delivery code exactly as its queue job runs it.

    .venv/bin/python bench/mail_queue.py [--batch-emails 10000] [--batch 1000]
                                    [--emails 10000] [--per-email 2000]
                                    [--far-emails 500] [--rtt-ms 5]

Loopback answers in microseconds, so a new connection (TCP, STARTTLS, login: five more
replies to wait for) costs little there; the last two runs delay every server reply by
``--rtt-ms`` to show what reusing the connection saves against a server that is not on
the same machine.
"""

from __future__ import annotations

import argparse
import datetime as dt
import ipaddress
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

USERNAME, PASSWORD = "bench@acme.example", "bench-password"
SERVER = r"""
import asyncio, socket, ssl, sys
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult
import logging; logging.getLogger("mail.log").setLevel(logging.ERROR)
cert, key = sys.argv[1], sys.argv[2]
delay = 0.0  # seconds before every reply: a server farther away than loopback
class Count:
    n = 0
    async def handle_DATA(self, server, session, envelope):
        Count.n += len(envelope.rcpt_tos)
        return "250 OK"
class Far(SMTP):
    async def push(self, status):
        if delay:
            await asyncio.sleep(delay)
        await super().push(status)
class FarController(Controller):
    def factory(self):
        return Far(self.handler, **self.SMTP_kwargs)
def auth(server, session, envelope, mechanism, data):
    return AuthResult(success=data.password == b"bench-password", handled=False)
probe = socket.socket(); probe.bind(("127.0.0.1", 0)); port = probe.getsockname()[1]; probe.close()
context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH); context.load_cert_chain(cert, key)
controller = FarController(Count(), hostname="127.0.0.1", port=port, tls_context=context,
                           require_starttls=True, authenticator=auth, auth_required=True)
controller.start()
print(port, flush=True)
for line in sys.stdin:
    if line.startswith("delay "):
        delay = float(line.split()[1])
    print(Count.n, flush=True)
controller.stop()
"""


def certificates(folder: Path) -> tuple[Path, Path, Path]:
    """A CA and a server certificate for 127.0.0.1: (ca, cert, key) PEM files."""
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    start = dt.datetime.now(dt.UTC) - dt.timedelta(days=1)

    def issue(subject: str, public: Any, ca: bool, sans: list[Any]) -> x509.Certificate:
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])
        issuer = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Bench CA")])
        builder = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(issuer)
            .public_key(public)
            .serial_number(x509.random_serial_number())
            .not_valid_before(start)
            .not_valid_after(start + dt.timedelta(days=2))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        )
        if sans:
            builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
        return builder.sign(ca_key, hashes.SHA256())

    ca = issue("Bench CA", ca_key.public_key(), True, [])
    leaf = issue(
        "127.0.0.1", key.public_key(), False, [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
    )
    pem = serialization.Encoding.PEM
    paths = folder / "ca.pem", folder / "cert.pem", folder / "key.pem"
    paths[0].write_bytes(ca.public_bytes(pem))
    paths[1].write_bytes(leaf.public_bytes(pem))
    paths[2].write_bytes(
        key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return paths


class SmtpSink:
    """aiosmtpd in a child process; `received()` asks it how many recipients it got."""

    def __init__(self, cert: Path, key: Path) -> None:
        self.child = subprocess.Popen(
            [sys.executable, "-c", SERVER, str(cert), str(key)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.child.stdout is not None
        self.port = int(self.child.stdout.readline())

    def received(self, command: str = "count") -> int:
        assert self.child.stdin is not None and self.child.stdout is not None
        self.child.stdin.write(f"{command}\n")
        self.child.stdin.flush()
        return int(self.child.stdout.readline())

    def delay_replies(self, milliseconds: float) -> None:
        self.received(f"delay {milliseconds / 1000}")

    def stop(self) -> None:
        assert self.child.stdin is not None
        self.child.stdin.close()
        self.child.wait(timeout=30)


@contextmanager
def redis_url(folder: Path) -> Iterator[str]:
    import redis

    from hub.core.embedded_redis import EmbeddedRedis

    if os.environ.get("REDIS_URL"):
        url = os.environ["REDIS_URL"].rstrip("/") + "/13"
        redis.Redis.from_url(url).flushdb()
        yield url
        redis.Redis.from_url(url).flushdb()
        return
    server = EmbeddedRedis(folder / "redis.sock").start()
    try:
        yield server.url
    finally:
        server.stop()


def make_app(folder: Path, database: str | None, redis: str, ca: Path) -> Any:
    import base64
    import secrets

    from hub.app import create_app
    from hub.core.migrations import upgrade
    from hub.plugins import installed_migration_dirs

    url = database or f"sqlite:///{folder / 'hub.db'}"
    upgrade(url, installed_migration_dirs())
    key = base64.b64encode(secrets.token_bytes(32)).decode()
    return create_app(
        {
            "HUB_DATABASE_URL": url,
            "REDIS_URL": redis,
            "HUB_VAR_DIR": str(folder / "var"),
            "HUB_SECRET_KEY": "bench",
            "HUB_ENCRYPTION_KEYS": f"bench:{key}",
            "HUB_LOG_LEVEL": "WARNING",
            "HUB_APP_URL": "https://hub.bench.example",
            "HUB_EGRESS_ALLOWED_CIDRS": "127.0.0.0/8",
            "SMTP_CA_FILE": str(ca),
            "HUB_API_RATE_LIMIT": "1000000/second",
        }
    )


def make_org(app: Any) -> str:
    """An organization with an admin key; the key."""
    from hub.core.apikeys import create_api_key
    from hub.core.models import User
    from hub.core.orgs import create_org
    from hub.extensions import db

    with app.app_context():
        org = create_org(db.session, f"Bench {time.time_ns()}", "Europe/London")
        admin = User(org_id=org.id, email="admin@bench.example", name="Ada", role="admin")
        db.session.add(admin)
        db.session.flush()
        _, key = create_api_key(db.session, org.id, "admin", "bench", admin)
        db.session.commit()
        return key


def queue(client: Any, key: str, count: int, batch: int = 0) -> tuple[float, float]:
    """POST count emails, one per request or `batch` per ``/emails/batch``; (wall seconds,
    this process's CPU seconds: what the queueing costs whatever else the machine runs)."""
    headers = {"Authorization": f"Bearer {key}"}
    bodies = [
        {
            "template": "deliverable_due",
            "to": [f"Person {n} <person{n}@client.example>"],
            "variables": {"deliverable_title": f"Deliverable {n}", "client_name": "Globex"},
        }
        for n in range(count)
    ]
    started, cpu = time.perf_counter(), time.process_time()
    if batch:
        for first in range(0, count, batch):
            chunk = {"emails": bodies[first : first + batch]}
            response = client.post(
                "/api/integrations/smtp/emails/batch", json=chunk, headers=headers
            )
            if response.status_code != 202:
                raise SystemExit(f"queueing failed: {response.status_code} {response.get_json()}")
        return time.perf_counter() - started, time.process_time() - cpu
    for body in bodies:
        response = client.post("/api/integrations/smtp/emails", json=body, headers=headers)
        if response.status_code != 202:
            raise SystemExit(f"queueing failed: {response.status_code} {response.get_json()}")
    return time.perf_counter() - started, time.process_time() - cpu


def send(app: Any, org_id: int, reuse: bool) -> tuple[int, float]:
    """Deliver every due email of the org; (sent, seconds)."""
    from mycelium_smtp import delivery

    from hub import context_for

    with app.app_context():
        ctx = context_for("smtp", org_id)
        assert ctx is not None
        started = time.perf_counter()
        sent = delivery.deliver(ctx).sent if reuse else _one_connection_each(ctx)
        return sent, time.perf_counter() - started


def _one_connection_each(ctx: Any) -> int:
    from mycelium_smtp import delivery

    class OneShot(delivery.Mailer):
        def send(self, row: Any) -> str:
            try:
                return super().send(row)
            finally:
                self.close()
                self.connection = None

    report, mailer = delivery.Report(), OneShot(ctx)
    while rows := delivery._claim(ctx, 100_000, delivery.CHUNK, None):
        delivery.send_rows(ctx, mailer, rows, report)
    return report.sent


def org_id_of(app: Any, key: str) -> int:
    from hub.core.apikeys import find_api_key
    from hub.extensions import db

    with app.app_context():
        return find_api_key(db.session, key).org_id


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--emails", type=int, default=10_000)
    parser.add_argument(
        "--per-email",
        type=int,
        default=2_000,
        help="emails sent with one connection each (TLS + login every time)",
    )
    parser.add_argument(
        "--far-emails",
        type=int,
        default=500,
        help="emails per run against a server whose replies are delayed",
    )
    parser.add_argument(
        "--rtt-ms",
        type=float,
        default=5.0,
        help="delay before each server reply in those runs (a distant server)",
    )
    parser.add_argument(
        "--batch-emails",
        type=int,
        default=10_000,
        help="emails queued through POST /emails/batch (0: skip that run)",
    )
    parser.add_argument("--batch", type=int, default=1_000, help="emails per batch request")
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        ca, cert, key_file = certificates(folder)
        sink = SmtpSink(cert, key_file)
        try:
            with redis_url(folder) as redis:
                run(args, folder, redis, ca, sink)
        finally:
            sink.stop()


def run(args: argparse.Namespace, folder: Path, redis: str, ca: Path, sink: SmtpSink) -> None:
    app = make_app(folder, args.database_url, redis, ca)
    client = app.test_client()
    rows = []
    far = args.far_emails
    for label, count, reuse, delay, batch in (
        (f"batches of {args.batch:,}, reused", args.batch_emails, True, 0.0, args.batch),
        ("one reused connection", args.emails, True, 0.0, 0),
        ("one connection per email", args.per_email, False, 0.0, 0),
        (f"reused, replies +{args.rtt_ms:g} ms", far, True, args.rtt_ms, 0),
        (f"per email, replies +{args.rtt_ms:g} ms", far, False, args.rtt_ms, 0),
    ):
        if count <= 0:
            continue
        sink.delay_replies(0)  # enabling tests the connection: not part of the measure
        key = enable(client, sink)
        before = sink.received()
        queued_seconds, queued_cpu = queue(client, key, count, batch)
        sink.delay_replies(delay)
        sent, sent_seconds = send(app, org_id_of(app, key), reuse)
        received = sink.received() - before
        if sent != count or received != count:
            raise SystemExit(f"{label}: queued {count}, sent {sent}, server got {received}")
        rows.append(
            (label, count, queued_seconds, queued_cpu, count / queued_seconds, sent / sent_seconds)
        )
    backend = (args.database_url or "sqlite").split(":")[0].split("+")[0]
    print(f"\nemail queue, {backend}, STARTTLS + AUTH to aiosmtpd on loopback (child process)")
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    header = f"{'queueing, delivery':<30} {'emails':>7} {'queued in':>10} {'CPU':>8}"
    print(f"{header} {'queued/s':>9} {'sent/s':>8}")
    for label, count, seconds, cpu, queued, sent_rate in rows:
        line = f"{label:<30} {count:>7} {seconds:>9.2f}s {cpu:>7.2f}s"
        print(f"{line} {queued:>9.0f} {sent_rate:>8.0f}")


def enable(client: Any, sink: SmtpSink) -> str:
    """A new organization with email on (its own queue); its admin key."""
    key = make_org(client.application)
    config = {
        "host": "127.0.0.1",
        "port": sink.port,
        "security": "starttls",
        "username": USERNAME,
        "password": PASSWORD,
        "from_address": "studio@bench.example",
        "from_name": "Bench Stüdio",
        "rate_limit_per_minute": 100_000,
    }
    headers = {"Authorization": f"Bearer {key}"}
    enabled = client.put("/api/integrations/smtp", json=config, headers=headers)
    if enabled.status_code != 200:
        raise SystemExit(f"enabling failed: {enabled.get_json()}")
    return key


if __name__ == "__main__":
    main()
