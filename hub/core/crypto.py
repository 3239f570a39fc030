"""Secrets at rest: AES-256-GCM under a key ring, bound to their row and field."""

from __future__ import annotations

import base64
import binascii
import logging
import os
import secrets
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from hub.core.keyfiles import read_or_create
from hub.errors import ConfigError, HubError

log = logging.getLogger(__name__)
VERSION = "v1"
# Set once a process has warned that the key file is in use: the processes it starts
# (`hub up`'s web and worker, gunicorn's forked workers) inherit it and stay quiet.
KEY_FILE_WARNED = "HUB_KEY_FILE_WARNED"


class DecryptionError(HubError):
    """A secret could not be decrypted: unknown key, or moved to another row or field."""


def generate_entry() -> str:
    """A new key ring entry: ``<key id>:<base64 of 32 random bytes>``."""
    return f"k{secrets.token_hex(4)}:{base64.b64encode(secrets.token_bytes(32)).decode()}"


def associated_data(org_id: int, integration_id: int, field: str) -> bytes:
    return f"org={org_id};integration={integration_id};field={field}".encode()


class KeyRing:
    """Encrypts with the newest key; decrypts with whichever key a ciphertext names."""

    def __init__(self, keys: list[tuple[str, bytes]]) -> None:
        if not keys:
            raise ConfigError("HUB_ENCRYPTION_KEYS holds no key")
        self.keys = dict(keys)
        self.newest = keys[0][0]

    @classmethod
    def parse(cls, value: str) -> KeyRing:
        """Parse ``id:base64,id:base64`` (newest first); errors name the setting."""
        keys: list[tuple[str, bytes]] = []
        for entry in (part.strip() for part in value.split(",") if part.strip()):
            key_id, _, encoded = entry.partition(":")
            try:
                key = base64.b64decode(encoded, validate=True)
            except (binascii.Error, ValueError):
                key = b""
            if not key_id or ":" in key_id or len(key) != 32:
                raise ConfigError(
                    f"HUB_ENCRYPTION_KEYS is malformed: entry {key_id or '?'!r} must be "
                    "'<key id>:<base64 of 32 bytes>' (see `hub keys generate`)"
                )
            if key_id in dict(keys):
                raise ConfigError(f"HUB_ENCRYPTION_KEYS is malformed: key id {key_id!r} repeats")
            keys.append((key_id, key))
        return cls(keys)

    @classmethod
    def from_settings(cls, value: str | None, var_dir: Path) -> KeyRing:
        if value:
            return cls.parse(value)
        if os.environ.get(KEY_FILE_WARNED) != str(var_dir):
            log.warning("HUB_ENCRYPTION_KEYS is unset: using the key file under %s", var_dir)
            os.environ[KEY_FILE_WARNED] = str(var_dir)
        return cls.parse(read_or_create(var_dir / "encryption_keys", generate_entry))

    def encrypt(self, plaintext: str, aad: bytes) -> str:
        nonce = os.urandom(12)
        sealed = AESGCM(self.keys[self.newest]).encrypt(nonce, plaintext.encode(), aad)
        return f"{VERSION}:{self.newest}:{base64.b64encode(nonce + sealed).decode()}"

    def decrypt(self, token: str, aad: bytes) -> str:
        try:
            version, key_id, encoded = token.split(":", 2)
            raw = base64.b64decode(encoded)
            key = self.keys[key_id]
            if version != VERSION:
                raise ValueError(version)
            return AESGCM(key).decrypt(raw[:12], raw[12:], aad).decode()
        except (ValueError, KeyError, InvalidTag, binascii.Error) as exc:
            raise DecryptionError("A stored secret could not be decrypted.") from exc

    def key_id_of(self, token: str) -> str:
        return token.split(":", 2)[1]

    def is_current(self, token: str) -> bool:
        return self.key_id_of(token) == self.newest
