"""One-time claim links and exchange codes (兑换码), pure: each gives exactly one coupon to
exactly one customer.

- **Batches.** A merchant asks for up to ``MAX_BATCH`` links or codes at once (or imports up
  to that many codes of their own); a batch runs as a job in chunks of ``CHUNK`` (imports:
  ``IMPORT_CHUNK``, so ten chunk messages of 32-character codes stay well under SQS's 256 KB
  per SendMessageBatch) and
  reserves one unit of stock per code, so a code never meets a sold-out template.
- **Link tokens** are ``<batch>-<index>-<mac>``: the mac is 26 base-32 characters (130
  bits) of HMAC-SHA256 under the batch's secret seed, so a token cannot be guessed or
  forged from another one, and a retried chunk derives the same tokens.
- **Generated exchange codes** are ``CODE_LENGTH`` characters of ``ALPHABET`` (digits and
  capitals without 0, 1, I, L and O: 31 characters, nothing to misread; about 59 bits) and
  a check character: the weighted sum of the characters' values, weights 1, 2, 3... from
  the left, is 0 modulo 31. 31 is prime and the weights are distinct and below it, so every
  single mistyped character and every swap of two neighbours breaks the sum: a storefront
  can flag a typo before it is sent. Codes
  are case-insensitive; spaces and hyphens are ignored (``normalize``). Imported codes are
  4..32 letters or digits (after ``normalize``), unique in the shop.
- **Wrong attempts.** A customer's wrong codes are counted per window of
  ``ATTEMPT_WINDOW_SECONDS``; after ``MAX_WRONG_ATTEMPTS`` in one window, every attempt is
  429 until the window ends.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re

MAX_BATCH = 10_000
CHUNK = 1_000
IMPORT_CHUNK = 250  # x ~35 bytes a code: about 9 KB a message, 90 KB per batch of ten


def chunk_size(imported: bool) -> int:
    return IMPORT_CHUNK if imported else CHUNK


ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CODE_LENGTH = 12  # then one check character
MAC_CHARS = 26
MAX_WRONG_ATTEMPTS = 5
ATTEMPT_WINDOW_SECONDS = 900
IMPORTED = re.compile(r"^[A-Z0-9]{4,32}$")


def _digest(seed: bytes, label: str) -> bytes:
    return hmac.new(seed, label.encode(), hashlib.sha256).digest()


# ---- link tokens -----------------------------------------------------------------------------


def link_mac(seed: bytes, batch_id: str, index: int) -> str:
    return base64.b32encode(_digest(seed, f"link:{batch_id}:{index}")).decode().lower()[:MAC_CHARS]


def link_token(batch_id: str, index: int, mac: str) -> str:
    return f"{batch_id}-{index}-{mac}"


def parse_link_token(token: str) -> tuple[str, int, str] | None:
    """(batch, index, mac) of a well-formed token, else None."""
    parts = token.rsplit("-", 2)
    if len(parts) != 3 or not parts[1].isdigit() or len(parts[2]) != MAC_CHARS:
        return None
    return parts[0], int(parts[1]), parts[2]


def same_mac(given: str, stored: str) -> bool:
    return hmac.compare_digest(given.encode(), stored.encode())


# ---- exchange codes ---------------------------------------------------------------------------


def _weighted(code: str) -> int:
    return sum((n + 1) * ALPHABET.index(char) for n, char in enumerate(code))


def check_char(body: str) -> str:
    """The character that makes ``body + it`` sum to 0 modulo 31 (see the module)."""
    n = len(ALPHABET)
    weight = len(body) + 1
    return ALPHABET[(-_weighted(body) * pow(weight, -1, n)) % n]


def is_valid_generated(code: str) -> bool:
    """``code`` (normalized) is a generated code whose check character matches."""
    if len(code) != CODE_LENGTH + 1 or any(c not in ALPHABET for c in code):
        return False
    return _weighted(code) % len(ALPHABET) == 0


def exchange_code(seed: bytes, batch_id: str, index: int) -> str:
    """The ``index``-th generated code of a batch (the same on every retry)."""
    number = int.from_bytes(_digest(seed, f"code:{batch_id}:{index}"), "big")
    body = ""
    for _ in range(CODE_LENGTH):
        number, digit = divmod(number, len(ALPHABET))
        body += ALPHABET[digit]
    return body + check_char(body)


def normalize(code: str) -> str:
    """Case-insensitive, spaces and hyphens ignored: what a customer typed, as stored."""
    return re.sub(r"[\s-]+", "", code).upper()


def importable(code: str) -> bool:
    return bool(IMPORTED.match(code))


def attempt_window(epoch_seconds: int) -> tuple[int, int]:
    """(the window's number, seconds until it ends) at ``epoch_seconds``."""
    window, into = divmod(epoch_seconds, ATTEMPT_WINDOW_SECONDS)
    return window, ATTEMPT_WINDOW_SECONDS - into


def batch_status(chunk_total: int, done: int, started: bool) -> str:
    if done >= chunk_total:
        return "done"
    return "running" if done or started else "queued"
