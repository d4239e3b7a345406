"""Typed records of the referral tables and their stored form (plain dicts, as the kit's
``codec`` reads and writes them). The stored attribute names are the ones the service has
always written (none was cryptic), so every item saved before loads unchanged; the tests
``test_referral_records`` write items in that format and read them back."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Literal

from chalicelib.referral.domain import (
    Buyer,
    CodeOwner,
    Counters,
    OrderTally,
    Program,
    RewardPlan,
    VisitTally,
    VoidedBinding,
)
from chalicelib.referral.store import keys

RewardStatus = Literal[
    "held", "pending", "issued", "failed", "capped", "cancelled", "revoking", "revoked", "revoke_failed"
]


@dataclass(frozen=True)
class CodeRecord:
    """A code of the ``codes`` table: its owner and when it was made."""

    owner: CodeOwner
    created_at: str

    @classmethod
    def from_item(cls, shop: str, item: dict[str, Any]) -> CodeRecord:
        owner = CodeOwner(
            shop=shop, code=item["sk"], kind=item["kind"], owner_id=item["owner_id"], name=item.get("name")
        )
        return cls(owner=owner, created_at=item["created_at"])

    def to_item(self) -> dict[str, Any]:
        # Items carry no more than the report needs: every attribute returned costs, in
        # DynamoDB read units and in moto's serializer.
        owner = self.owner
        return {
            "pk": keys.codes_pk(owner.shop),
            "sk": owner.code,
            "kind": owner.kind,
            "owner_id": owner.owner_id,
            "name": owner.name,
            "created_at": self.created_at,
        }


@dataclass(frozen=True)
class ChannelRecord:
    shop: str
    channel_id: str
    name: str
    code: str
    created_at: str

    @classmethod
    def from_item(cls, shop: str, item: dict[str, Any]) -> ChannelRecord:
        return cls(shop, item["channel_id"], item["name"], item["code"], item["created_at"])

    def to_item(self) -> dict[str, Any]:
        k = keys.channel_key(self.shop, self.channel_id)
        return {
            "pk": k["pk"]["S"],
            "sk": k["sk"]["S"],
            "channel_id": self.channel_id,
            "name": self.name,
            "code": self.code,
            "created_at": self.created_at,
        }


@dataclass(frozen=True)
class ProgramRecord:
    program: Program
    updated_at: str

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> ProgramRecord:
        program = Program(
            referrer_template_id=item["referrer_template_id"],
            referee_template_id=item["referee_template_id"],
            min_order_amount=int(item.get("min_order_amount", 0)),
            max_rewards_per_referrer=item.get("max_rewards_per_referrer"),
            reward_hold_days=int(item.get("reward_hold_days", 0)),
        )
        return cls(program=program, updated_at=item["updated_at"])

    def to_item(self, shop: str) -> dict[str, Any]:
        k = keys.program_key(shop)
        return {
            "pk": k["pk"]["S"],
            "sk": k["sk"]["S"],
            **dataclasses.asdict(self.program),
            "updated_at": self.updated_at,
        }


@dataclass(frozen=True)
class CouponTemplate:
    """What a program needs of a coupons template: how many coupons one customer may get."""

    per_customer_limit: int

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> CouponTemplate:
        return cls(per_customer_limit=int(item.get("per_customer_limit") or 1))


@dataclass(frozen=True)
class ReferrerCounts:
    """A referring customer's counters (``customer#…`` / ``referrer``)."""

    referred_count: int = 0
    converted_count: int = 0
    rewards_granted: int = 0

    @classmethod
    def from_item(cls, item: dict[str, Any] | None) -> ReferrerCounts:
        item = item or {}
        return cls(*(int(item.get(f.name, 0)) for f in dataclasses.fields(cls)))


@dataclass(frozen=True)
class RewardRecord:
    """A reward (``customer#…`` / ``reward#{grant_id}``). ``index_partition``/``index_sort``
    are its place in gsi1 (``gsi1pk``/``gsi1sk``) while its grant or revoke is unanswered or
    while it is held; None otherwise."""

    shop: str
    customer_id: str
    grant_id: str
    side: Literal["referrer", "referee"]
    template_id: str
    status: RewardStatus
    created_at: str
    updated_at: str
    referee_id: str = ""
    order_id: str = ""
    reason: str | None = None
    coupon_id: str | None = None
    revoke_reason: str | None = None
    release_at: str | None = None
    sends: int = 0
    index_partition: str | None = None
    index_sort: str | None = None

    @classmethod
    def new(cls, shop: str, plan: RewardPlan, referee_id: str, order_id: str, now: str) -> RewardRecord:
        partition = sort = None
        if plan.status == "pending":  # the sparse index of grants waiting for an answer
            partition, sort = keys.PENDING_INDEX_KEY, keys.pending_sort(now, plan.grant_id)
        elif plan.status == "held":  # the sparse index of rewards waiting out the refund window
            partition, sort = keys.HELD_INDEX_KEY, keys.held_sort(plan.release_at or "", plan.grant_id)
        return cls(
            shop=shop,
            customer_id=plan.customer_id,
            grant_id=plan.grant_id,
            side=plan.side,
            template_id=plan.template_id,
            status=plan.status,
            reason=plan.reason,
            referee_id=referee_id,
            order_id=order_id,
            created_at=now,
            updated_at=now,
            sends=1 if plan.status == "pending" else 0,
            release_at=plan.release_at,
            index_partition=partition,
            index_sort=sort,
        )

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> RewardRecord:
        return cls(
            shop=item["shop"],
            customer_id=item["customer_id"],
            grant_id=item["grant_id"],
            side=item["side"],
            template_id=item["template_id"],
            status=item["status"],
            created_at=item["created_at"],
            updated_at=item["updated_at"],
            referee_id=item.get("referee_id", ""),
            order_id=item.get("order_id", ""),
            reason=item.get("reason"),
            coupon_id=item.get("coupon_id"),
            revoke_reason=item.get("revoke_reason"),
            release_at=item.get("release_at"),
            sends=int(item.get("sends", 0)),
            index_partition=item.get("gsi1pk"),
            index_sort=item.get("gsi1sk"),
        )

    def to_item(self) -> dict[str, Any]:
        k = keys.reward_key(self.shop, self.customer_id, self.grant_id)
        data = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        data["gsi1pk"] = data.pop("index_partition")
        data["gsi1sk"] = data.pop("index_sort")
        return {"pk": k["pk"]["S"], "sk": k["sk"]["S"], **{n: v for n, v in data.items() if v is not None}}


@dataclass(frozen=True)
class CodeStats:
    """A code's summary counters and its visit shards (``stats`` table)."""

    counters: Counters
    visits: tuple[VisitTally, ...] = ()


@dataclass(frozen=True)
class CustomerView:
    """Every item of one customer (one Query): own code, binding, counters and rewards."""

    own_code: str | None
    buyer: Buyer | None
    counts: ReferrerCounts
    rewards: tuple[RewardRecord, ...]


# ---- the buyer record: written whole under an optimistic version ---------------------------


def buyer_from_item(customer_id: str, item: dict[str, Any] | None) -> Buyer:
    if item is None:
        return Buyer(customer_id=customer_id)
    orders = {
        order_id: OrderTally(
            paid_amount=tally.get("paid_amount"),
            occurred_at=tally.get("occurred_at"),
            refunds={rid: int(amount) for rid, amount in (tally.get("refunds") or {}).items()},
        )
        for order_id, tally in (item.get("orders") or {}).items()
    }
    return Buyer(
        customer_id=customer_id,
        version=int(item["version"]),
        bound_code=item.get("bound_code"),
        bound_at=item.get("bound_at"),
        referrer_kind=item.get("referrer_kind"),
        referrer_id=item.get("referrer_id"),
        attributed_code=item.get("attributed_code"),
        orders=orders,
        converted_at=item.get("converted_at"),
        conversion_order_id=item.get("conversion_order_id"),
        voided=VoidedBinding(**item["voided"]) if item.get("voided") else None,
    )


def buyer_to_item(shop: str, buyer: Buyer, version: int) -> dict[str, Any]:
    """The stored form of ``buyer`` at ``version`` (None values are left out when written)."""
    orders = {}
    for order_id, tally in buyer.orders.items():
        entry: dict[str, Any] = {"refunds": dict(tally.refunds)}
        if tally.paid_amount is not None:
            entry["paid_amount"] = tally.paid_amount
        if tally.occurred_at is not None:
            entry["occurred_at"] = tally.occurred_at
        orders[order_id] = entry
    k = keys.customer_key(shop, buyer.customer_id, "buyer")
    return {
        "pk": k["pk"]["S"],
        "sk": k["sk"]["S"],
        "version": version,
        "bound_code": buyer.bound_code,
        "bound_at": buyer.bound_at,
        "referrer_kind": buyer.referrer_kind,
        "referrer_id": buyer.referrer_id,
        "attributed_code": buyer.attributed_code,
        "converted_at": buyer.converted_at,
        "conversion_order_id": buyer.conversion_order_id,
        "orders": orders,
        "voided": dataclasses.asdict(buyer.voided) if buyer.voided else None,
    }
