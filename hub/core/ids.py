"""Time-ordered, unguessable public ids (ULID layout: 48-bit ms time + 80 random bits)."""

from __future__ import annotations

import secrets

from hub.core import clock

_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"  # Crockford base32, lower case


def new_id(prefix: str) -> str:
    """`<prefix>_<26 chars>`, sortable by creation time."""
    value = (int(clock.now().timestamp() * 1000) << 80) | secrets.randbits(80)
    chars = []
    for _ in range(26):
        value, index = divmod(value, 32)
        chars.append(_ALPHABET[index])
    return f"{prefix}_{''.join(reversed(chars))}"
