"""Secrets at rest: AES-256-GCM key ring, binding to row and field, rotation, the key file."""

from __future__ import annotations

import multiprocessing
import threading
from pathlib import Path
from typing import Any

import pytest
from marshmallow import Schema, fields
from sqlalchemy import select, text, update
from sqlalchemy.orm import sessionmaker

import hub
from hub.cli import main
from hub.core.crypto import DecryptionError, KeyRing, associated_data, generate_entry
from hub.core.keyrotation import rotate_all
from hub.core.models import Integration
from hub.errors import ConfigError
from hub.extensions import db

SECRET = "p@ssw0rd-CLEARTEXT"


class VaultConfig(Schema):
    password = fields.String(required=True, metadata={"secret": True})
    username = fields.String(required=True)


class Vault:
    @hub.hookimpl
    def register_providers(self, register: Any) -> None:
        register(hub.Provider(name="vault", title="Vault", config_schema=VaultConfig))


@pytest.fixture
def vault(register_plugin: Any) -> None:
    register_plugin(Vault(), "vault")


def test_round_trip_and_key_id_in_ciphertext() -> None:
    ring = KeyRing.parse(generate_entry())
    token = ring.encrypt(SECRET, b"aad")
    assert token.startswith(f"v1:{ring.newest}:")
    assert SECRET not in token
    assert ring.decrypt(token, b"aad") == SECRET
    assert ring.encrypt(SECRET, b"aad") != token  # a fresh nonce every time


def test_ciphertext_moved_to_another_row_or_field_fails() -> None:
    ring = KeyRing.parse(generate_entry())
    token = ring.encrypt(SECRET, associated_data(1, 10, "password"))
    for aad in (
        associated_data(2, 10, "password"),
        associated_data(1, 11, "password"),
        associated_data(1, 10, "api_key"),
    ):
        with pytest.raises(DecryptionError):
            ring.decrypt(token, aad)


def test_tampered_or_unknown_key_fails() -> None:
    ring = KeyRing.parse(generate_entry())
    token = ring.encrypt(SECRET, b"aad")
    flipped = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    with pytest.raises(DecryptionError):
        ring.decrypt(flipped, b"aad")
    with pytest.raises(DecryptionError):
        KeyRing.parse(generate_entry()).decrypt(token, b"aad")


@pytest.mark.parametrize(
    "value",
    ["k1", "k1:", "k1:not-base64!!", "k1:AAAA", ":" + "A" * 44, "k1:{k},k1:{k}"],
)
def test_malformed_keys_name_the_setting(value: str, make_app: Any) -> None:
    key = generate_entry().split(":", 1)[1]
    with pytest.raises(ConfigError, match="HUB_ENCRYPTION_KEYS is malformed"):
        make_app(HUB_ENCRYPTION_KEYS=value.format(k=key))


def test_stored_secret_is_bound_to_its_row(app: Any, enable_plugin: Any, vault: None) -> None:
    enable_plugin("vault", {"password": SECRET, "username": "ada"})
    with app.app_context():
        raw = db.session.execute(text("SELECT config, secrets FROM integrations")).one()
        assert SECRET not in str(raw)
        row = db.session.scalar(select(Integration))
        ring = app.extensions["hub.keyring"]
        token = row.secrets["password"]
        assert ring.decrypt(token, associated_data(row.org_id, row.id, "password")) == SECRET
        with pytest.raises(DecryptionError):
            ring.decrypt(token, associated_data(row.org_id + 1, row.id, "password"))


def _two_key_app(make_app: Any, old: str) -> Any:
    return make_app(HUB_ENCRYPTION_KEYS=f"{generate_entry()},{old}")


def test_rotation_with_two_keys(
    app: Any,
    hub_config: dict[str, Any],
    make_app: Any,
    enable_plugin: Any,
    vault: None,
    other_org: Any,
) -> None:
    old_entry = hub_config["HUB_ENCRYPTION_KEYS"]
    enable_plugin("vault", {"password": SECRET, "username": "ada"})
    enable_plugin("vault", {"password": "other-secret", "username": "bo"}, org=other_org)
    rotated_app = _two_key_app(make_app, old_entry)
    rotated_app.extensions["hub.plugins"].add(Vault(), "vault")
    ring = rotated_app.extensions["hub.keyring"]
    with rotated_app.app_context():
        report = rotate_all(sessionmaker(bind=db.engine), ring)
        assert (report.rotated, report.failed) == (2, [])
        rows = db.session.scalars(select(Integration).order_by(Integration.id)).all()
        db.session.close()  # SQLite: let go of the write lock this read took
        assert {ring.key_id_of(r.secrets["password"]) for r in rows} == {ring.newest}
        plain = [
            ring.decrypt(r.secrets["password"], associated_data(r.org_id, r.id, "password"))
            for r in rows
        ]
        assert plain == [SECRET, "other-secret"]
        again = rotate_all(sessionmaker(bind=db.engine), ring)
        assert again.rotated == 0
    with pytest.raises(DecryptionError):  # the old ring alone no longer reads them
        KeyRing.parse(old_entry).decrypt(
            rows[0].secrets["password"], associated_data(rows[0].org_id, rows[0].id, "password")
        )


def test_rotation_reports_a_row_it_cannot_read(
    app: Any, hub_config: dict[str, Any], enable_plugin: Any, vault: None
) -> None:
    enable_plugin("vault", {"password": SECRET, "username": "ada"})
    with app.app_context():
        db.session.execute(update(Integration).values(secrets={"password": "v1:gone:AAAA"}))
        db.session.commit()
        report = rotate_all(sessionmaker(bind=db.engine), app.extensions["hub.keyring"])
    assert report.rotated == 0 and len(report.failed) == 1 and "integration" in report.failed[0]


def test_rotation_while_the_hub_writes(
    app: Any, hub_config: dict[str, Any], make_app: Any, api: Any, vault: None
) -> None:
    """Processes still on the old ring write while rotation runs: no write is lost, every
    secret stays readable, and a last pass leaves only the newest key."""
    api.put("/api/integrations/vault", json={"password": "v0", "username": "ada"})
    rotated_app = _two_key_app(make_app, hub_config["HUB_ENCRYPTION_KEYS"])
    ring = rotated_app.extensions["hub.keyring"]
    writer = app.test_client()  # the old key ring
    headers = {"Authorization": f"Bearer {api.key}"}
    answers: list[int] = []

    def write() -> None:
        for i in range(1, 16):
            body = {"password": f"v{i}"}
            answers.append(
                writer.patch("/api/integrations/vault", json=body, headers=headers).status_code
            )

    thread = threading.Thread(target=write)
    thread.start()
    with rotated_app.app_context():
        new_session = sessionmaker(bind=db.engine)
        while thread.is_alive():
            assert rotate_all(new_session, ring).failed == []
        thread.join()
        rotate_all(new_session, ring)
        row = db.session.scalar(select(Integration))
    assert answers == [200] * 15
    assert ring.is_current(row.secrets["password"])
    assert (
        ring.decrypt(row.secrets["password"], associated_data(row.org_id, row.id, "password"))
        == "v15"
    )


def test_cli_keys_rotate(
    app: Any, hub_config: dict[str, Any], make_app: Any, enable_plugin: Any, vault: None
) -> None:
    enable_plugin("vault", {"password": SECRET, "username": "ada"})
    new_app = _two_key_app(make_app, hub_config["HUB_ENCRYPTION_KEYS"])
    result = new_app.test_cli_runner().invoke(main, ["keys", "rotate"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("1 secrets re-encrypted with key k")


def _first_start(var: str, queue: Any) -> None:
    queue.put(KeyRing.from_settings(None, Path(var)).keys)


def test_concurrent_first_start_creates_one_key(tmp_path: Path) -> None:
    var = tmp_path / "var"
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    processes = [context.Process(target=_first_start, args=(str(var), queue)) for _ in range(6)]
    for process in processes:
        process.start()
    rings = [queue.get(timeout=60) for _ in processes]
    for process in processes:
        process.join(timeout=60)
    assert all(ring == rings[0] for ring in rings)
    key_file = var / "encryption_keys"
    assert len(key_file.read_text().strip().splitlines()) == 1
    assert key_file.stat().st_mode & 0o777 == 0o600
    assert [p.name for p in var.iterdir()] == ["encryption_keys"]  # no temp files left
