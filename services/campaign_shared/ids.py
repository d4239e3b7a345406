"""Identifiers and unguessable tokens."""

from __future__ import annotations

import os
import secrets
import time

_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"  # Crockford base32, lower case


def _b32(number: int, length: int) -> str:
    out = []
    for _ in range(length):
        out.append(_ALPHABET[number & 31])
        number >>= 5
    return "".join(reversed(out))


def new_id(prefix: str = "") -> str:
    """A time-sortable id: 48-bit milliseconds + 80 random bits (ULID layout), lower case."""
    millis = int(time.time() * 1000) & ((1 << 48) - 1)
    rand = int.from_bytes(os.urandom(10), "big")
    body = _b32(millis, 10) + _b32(rand, 16)
    return f"{prefix}{body}"


def token(nbytes: int = 18) -> str:
    """A URL-safe unguessable token (``nbytes`` of randomness; default 144 bits)."""
    return secrets.token_urlsafe(nbytes)


def short_code(length: int = 10) -> str:
    """A short unguessable code for links (base32: 5 bits per character)."""
    return "".join(secrets.choice(_ALPHABET) for _ in range(length))
