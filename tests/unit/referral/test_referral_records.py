"""The typed records read items exactly as the service stored them before the records existed
(no stored name changed), and write them back in that same form."""

from __future__ import annotations

from infrastructure.dev.apps import load_app

load_app("referral")  # the service folder is the Lambda task root: chalicelib.referral is importable

from chalicelib.referral.domain import Buyer, OrderTally, RewardPlan, VoidedBinding  # noqa: E402
from chalicelib.referral.store import records  # noqa: E402

# Items as the store wrote them before (codec.from_item of a GetItem answer).
OLD_BUYER = {
    "pk": "customer#s1#bob",
    "sk": "buyer",
    "version": 3,
    "bound_code": "ralice0000",
    "bound_at": "2026-11-01T00:00:00Z",
    "referrer_kind": "customer",
    "referrer_id": "alice",
    "attributed_code": "ralice0000",
    "converted_at": "2026-11-02T00:00:00Z",
    "conversion_order_id": "o1",
    "orders": {"o1": {"paid_amount": 6000, "occurred_at": "2026-11-02T00:00:00Z", "refunds": {"r1": 100}}},
}
OLD_REWARD = {
    "pk": "customer#s1#alice",
    "sk": "reward#rf-1",
    "shop": "s1",
    "customer_id": "alice",
    "grant_id": "rf-1",
    "side": "referrer",
    "template_id": "t-r",
    "status": "pending",
    "referee_id": "bob",
    "order_id": "o1",
    "created_at": "2026-11-02T00:00:00Z",
    "updated_at": "2026-11-02T00:00:00Z",
    "sends": 1,
    "gsi1pk": "pending-rewards",
    "gsi1sk": "2026-11-02T00:00:00Z#rf-1",
}


def test_an_old_buyer_item_loads_and_is_written_back_the_same():
    buyer = records.buyer_from_item("bob", OLD_BUYER)
    assert buyer == Buyer(
        customer_id="bob",
        version=3,
        bound_code="ralice0000",
        bound_at="2026-11-01T00:00:00Z",
        referrer_kind="customer",
        referrer_id="alice",
        attributed_code="ralice0000",
        orders={"o1": OrderTally(6000, "2026-11-02T00:00:00Z", {"r1": 100})},
        converted_at="2026-11-02T00:00:00Z",
        conversion_order_id="o1",
    )
    written = records.buyer_to_item("s1", buyer, 3)
    assert {k: v for k, v in written.items() if v is not None} == OLD_BUYER
    voided = {**OLD_BUYER, "voided": {"code": "c", "referrer_kind": "channel", "referrer_id": "ch1",
                                      "bound_at": "a", "voided_at": "b", "order_id": "o0"}}  # fmt: skip
    assert records.buyer_from_item("bob", voided).voided == VoidedBinding(
        "c", "channel", "ch1", "a", "b", "o0"
    )


def test_an_old_reward_item_loads_and_a_new_reward_is_stored_in_the_old_form():
    reward = records.RewardRecord.from_item(OLD_REWARD)
    assert (reward.status, reward.sends, reward.index_partition) == ("pending", 1, "pending-rewards")
    assert reward.to_item() == OLD_REWARD
    plan = RewardPlan(
        side="referrer", customer_id="alice", template_id="t-r", grant_id="rf-1", status="pending"
    )
    assert records.RewardRecord.new("s1", plan, "bob", "o1", "2026-11-02T00:00:00Z").to_item() == OLD_REWARD
    answered = {**OLD_REWARD, "status": "issued", "coupon_id": "cp-1", "revoke_reason": "x"}
    del answered["gsi1pk"], answered["gsi1sk"]
    assert records.RewardRecord.from_item(answered).to_item() == answered


def test_old_code_channel_and_program_items_load():
    code = records.CodeRecord.from_item(
        "s1",
        {
            "pk": "codes#s1",
            "sk": "c123",
            "kind": "channel",
            "owner_id": "ch1",
            "name": "poster",
            "created_at": "t",
        },  # fmt: skip
    )
    assert (code.owner.kind, code.owner.channel_id, code.owner.name, code.created_at) == (
        "channel",
        "ch1",
        "poster",
        "t",
    )
    assert {k: v for k, v in code.to_item().items() if v is not None}["owner_id"] == "ch1"
    channel = {
        "pk": "channel#s1#ch1",
        "sk": "channel",
        "channel_id": "ch1",
        "name": "p",
        "code": "c1",
        "created_at": "t",
    }
    assert records.ChannelRecord.from_item("s1", channel).to_item() == channel
    program = {"pk": "program#s1", "sk": "program", "referrer_template_id": "a", "referee_template_id": "b",
               "min_order_amount": 0, "updated_at": "t"}  # fmt: skip
    loaded = records.ProgramRecord.from_item(program)  # (no hold days nor cap: items before those fields)
    assert (loaded.program.reward_hold_days, loaded.program.max_rewards_per_referrer) == (0, None)
    assert records.ReferrerCounts.from_item({"referred_count": 2}) == records.ReferrerCounts(2, 0, 0)
