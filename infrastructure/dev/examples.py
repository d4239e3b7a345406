"""One realistic example of every request body, keyed by the operation's ``operationId``
(``<service>_<handler>``): the OpenAPI document shows it under the body's
``application/json`` content.

Every route with a body needs one here: ``tests/unit/platform/test_platform_openapi_content.py``
fails naming any operation without an example, and any example its route's model refuses
(the model's own checks included, not only the JSON schema). Money is in minor units (fen),
rates in basis points, times RFC 3339 UTC.
"""

from __future__ import annotations

from typing import Any

EXAMPLES: dict[str, dict[str, Any]] = {
    # ---- events ---------------------------------------------------------------------------
    "events_post_order_event": {
        "event_id": "evt-20261111-000123",
        "type": "order.paid",
        "order_id": "o-10086",
        "customer_id": "c-2024",
        "occurred_at": "2026-11-11T00:00:05Z",
        "currency": "CNY",
        "lines": [
            {
                "line_id": "l-1",
                "product_id": "sku-lipstick-01",
                "quantity": 2,
                "unit_amount": 12900,
                "paid_amount": 23800,
            },
            {
                "line_id": "l-2",
                "product_id": "sku-serum-30ml",
                "quantity": 1,
                "unit_amount": 29900,
                "paid_amount": 29900,
                "wishlist_item": {"list_id": "wl-7f3k2a", "item_id": "it-91d0"},
            },
        ],
        "coupon_id": "cp-5n8q1z",
        "distributor_code": "d7Kx9Q",
        "referral_code": "ANNA7Q2",
    },
    # ---- coupons --------------------------------------------------------------------------
    "coupons_create_template": {
        "name": "Double 11: 20 off orders of 199",
        "kind": "amount_off",
        "amount_off": 2000,
        "min_spend_amount": 19900,
        "total_stock": 100000,
        "per_customer_limit": 1,
        "valid_days": 7,
        "currency": "CNY",
        "expected_peak_claims_per_second": 5000,
        "giftable": True,
        "budget_amount": 150000000,
    },
    "coupons_edit_template": {
        "name": "Double 11: 20 off orders of 199 (extended)",
        "valid_until": "2027-11-13T00:00:00Z",
        "add_stock": 20000,
    },
    "coupons_put_settings": {"lock_ttl_seconds": 900},
    "coupons_for_cart": {
        "lines": [
            {"product_id": "sku-lipstick-01", "quantity": 2, "unit_amount": 12900},
            {"product_id": "sku-serum-30ml", "quantity": 1, "unit_amount": 29900},
        ],
        "order_id": "o-10086",
    },
    "coupons_validate": {
        "coupon_id": "cp-5n8q1z",
        "lines": [{"product_id": "sku-lipstick-01", "quantity": 2, "unit_amount": 12900}],
        "order_id": "o-10086",
    },
    "coupons_lock": {"order_id": "o-10086"},
    "coupons_create_issue_job": {"customer_ids": ["c-2024", "c-2025", "c-3101"]},
    "coupons_create_invalidation": {"return_stock": True},
    "coupons_create_share_link": {"channel": "wechat-group-vip", "sharer_id": "c-2024"},
    "coupons_create_claim_links": {"count": 500},
    "coupons_create_exchange_codes": {"count": 2000},
    "coupons_redeem_code": {"code": "K7QD-9XWM-2P"},
    "coupons_give_coupon": {"expires_in_seconds": 86400},
    # ---- distribution ---------------------------------------------------------------------
    "distribution_put_levels": {
        "levels": [
            {"level_id": "silver", "name": "白银", "min_gmv_amount": 500000, "bonus_bps": 200},
            {
                "level_id": "gold",
                "name": "黄金",
                "min_gmv_amount": 2000000,
                "min_orders": 20,
                "rate_bps": 1500,
            },
        ]
    },
    "distribution_put_rules": {
        "default_rate_bps": 500,
        "parent_rate_bps": 100,
        "product_rates_bps": {"sku-serum-30ml": 800},
        "settle_after_days": 7,
        "auto_approve": False,
        "self_purchase_commission": False,
        "currency": "CNY",
        "min_withdrawal_amount": 1000,
        "binding_days": 30,
        "binding_policy": "first_touch",
    },
    "distribution_register": {"invite_code": "d7Kx9Q"},
    "distribution_create_link": {"product_id": "sku-serum-30ml"},
    "distribution_withdraw": {"amount": 50000, "method": "alipay", "account": "anna@example.com"},
    "distribution_reject_withdrawal": {"reason": "The payout account does not match the distributor's name."},
    "distribution_pay_withdrawal": {"payout_reference": "ALIPAY-2026111100042"},
    "distribution_fail_withdrawal": {"reason": "The bank returned the transfer: account closed."},
    "distribution_transfer_binding": {
        "distributor_id": "u-8812",
        "reason": "The customer asked to be served by the store's new advisor.",
    },
    "distribution_unbind": {"reason": "The distributor left the programme."},
    "distribution_settle": {"as_of": "2026-11-30T16:00:00Z"},
    # ---- wishlist -------------------------------------------------------------------------
    "wishlist_create_list": {"title": "Birthday wishes", "occasion": "birthday", "surprise": True},
    "wishlist_add_item": {
        "product_id": "sku-serum-30ml",
        "name": "Hydrating serum 30 ml",
        "unit_amount": 29900,
        "quantity": 1,
    },
    "wishlist_reserve": {"quantity": 1, "hold_seconds": 3600},
    # ---- referral -------------------------------------------------------------------------
    "referral_put_program": {
        "referrer_template_id": "tpl-ref-30off",
        "referee_template_id": "tpl-new-10off",
        "min_order_amount": 9900,
        "max_rewards_per_referrer": 10,
        "reward_hold_days": 7,
    },
    "referral_create_channel": {"name": "Shanghai flagship store counter"},
    "referral_record_visit": {"code": "ANNA7Q2", "visitor_id": "v-3f9a21c0"},
    "referral_signup": {"code": "ANNA7Q2"},
    # ---- audience -------------------------------------------------------------------------
    "audience_start_tag_job": {"tag": "vip", "customer_ids": ["c-2024", "c-2025", "c-3101"]},
    "audience_create_segment": {
        "name": "Lapsed VIPs",
        "definition": {
            "tags": {"any": ["vip"], "none": ["opted_out"]},
            "orders_count": {"min": 2},
            "days_since_last_order": {"min": 60, "max": 365},
            "paid_total_amount": {"min": 100000},
        },
    },
    "audience_create_rule": {
        "name": "Win back after 60 days",
        "trigger": {"type": "no_order_for_days", "days": 60},
        "delay_days": 0,
        "template_id": "tpl-winback-30off",
        "control_percent": 10,
    },
}
