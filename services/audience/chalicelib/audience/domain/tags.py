"""Tag names and bulk-tag chunking."""

from __future__ import annotations

import unicodedata

MAX_TAG_LENGTH = 64
MAX_BULK_IDS = 100_000
CHUNK_SIZE = 500


class TagError(ValueError):
    """A tag name the service refuses."""


def check_tag(tag: str) -> str:
    """The tag as given, if it is 1..64 characters with no control or format characters and
    not only blanks (``备孕`` is a fine tag); ``TagError`` otherwise."""
    if not tag or not tag.strip():
        raise TagError("tag must not be empty")
    if len(tag) > MAX_TAG_LENGTH:
        raise TagError(f"tag must be at most {MAX_TAG_LENGTH} characters")
    if any(unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co", "Cn") for ch in tag):
        raise TagError("tag must not contain control characters")
    return tag


def chunks(customer_ids: list[str], size: int = CHUNK_SIZE) -> list[list[str]]:
    """The distinct ids in first-seen order, cut in chunks of ``size``."""
    distinct = list(dict.fromkeys(customer_ids))
    return [distinct[i : i + size] for i in range(0, len(distinct), size)]
