"""Referral codes, pure: their kinds, owners, normal form and public URL."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal
from urllib.parse import quote

CustomerKind = Literal["customer", "channel"]
# Visits of one code are counted in this many items with distinct partition keys, so a hot
# channel is not capped by one partition's write throughput (1,000 writes/s each in DynamoDB).
VISIT_SHARDS = 4
CODE_LENGTH = 10
# A code's first character tells its kind, so codes are unique across kinds and a shop's
# channel codes sort together (listed with one key condition).
CODE_PREFIX: dict[str, str] = {"channel": "c", "customer": "r"}


def normalize_code(text: str) -> str:
    """Codes are case-insensitive for people typing them; stored lower case."""
    return text.strip().lower()


def code_url(base_url: str, shop: str, code: str) -> str:
    """The public URL of a code: ``GET /referral/r/{shop}/{code}`` resolves it."""
    return f"{base_url.rstrip('/')}/referral/r/{quote(shop, safe='')}/{quote(code, safe='')}"


@dataclass(frozen=True)
class CodeOwner:
    """Who a code belongs to: a customer (personal code) or a merchant's channel."""

    shop: str
    code: str
    kind: CustomerKind
    owner_id: str
    name: str | None = None

    @property
    def channel_id(self) -> str | None:
        return self.owner_id if self.kind == "channel" else None

    @property
    def customer_id(self) -> str | None:
        return self.owner_id if self.kind == "customer" else None
