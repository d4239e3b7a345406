"""The 409 codes of every route, in one place: what each code means, the codes every
idempotent write can answer, and each route's own codes keyed by its ``operationId``
(``<service>_<handler>``). The OpenAPI document lists them on the route's 409 response.

The codes come from the ``Conflict(..., code=...)`` raised by the services' use cases and
domain rules. ``tests/unit/platform/test_platform_openapi_content.py`` keeps this honest:
every code listed here is raised somewhere in its service (or the shared package), every
code raised is listed on at least one route, a route declaring 409 lists its codes here, and
every place that raises a code it computes (not a literal) is declared in ``COMPUTED``.
"""

from __future__ import annotations

# What each code means, as the 409's description shows it.
MEANINGS: dict[str, str] = {
    # the route layer and the storage kit (campaign_shared)
    "idempotency_key_reused": "this Idempotency-Key was used before with another body",
    "request_in_progress": "a request with this Idempotency-Key is still running; retry after Retry-After",
    "conflict": "a concurrent change won the write; read again and retry",
    "overlapping_levels": "a level's thresholds do not rise above the level below it",
    # coupons
    "ended": "the template has been ended (or its claim window is over)",
    "paused": "the template is paused",
    "not_active": "the coupon cannot be claimed now (not started yet, or no longer)",
    "sold_out": "no stock is left",
    "per_customer_limit_reached": "the caller holds as many of these coupons as allowed",
    "not_available": "the coupon is used, revoked, expired, being given away, or locked to another order",
    "budget_exhausted": "the template's discount budget cannot hold this coupon's discount",
    "not_ready": "the batch is still being generated",
    "already_claimed": "this link or code was claimed by another customer",
    "not_giftable": "coupons of this template cannot be given away",
    "own_gift": "the giver cannot accept their own gift",
    "gift_cancelled": "the giver cancelled the gift",
    "gift_taken": "someone accepted the gift first",
    "gift_expired": "the gift expired before it was accepted",
    # distribution
    "already_registered": "the caller is already a distributor of this shop",
    "inviter_not_approved": "the inviting distributor is pending or suspended",
    "invite_cycle": "the invitation would make a cycle of inviters",
    "insufficient_balance": "the amount is more than the available balance",
    "distributor_not_approved": "the distributor is not approved (yet)",
    "distributor_suspended": "the distributor is suspended",
    "invalid_transition": "the withdrawal's review status does not allow this step",
    "already_paid": "the withdrawal was paid with another payout reference",
    # wishlist
    "list_limit_reached": "the caller has the most wishlists allowed (20)",
    "item_limit_reached": "the list holds the most items allowed (100)",
    "nothing_left": "no quantity of the item is left to reserve",
    # referral
    "self_referral": "a customer cannot sign up with their own code",
    "already_referred": "the customer was referred already",
    "not_new_customer": "only a customer without a paid order can be referred",
    "mutual_referral": "the code's owner was referred by the caller",
    # events
    "event_id_reused": "this event_id was accepted before with another body",
}

# Every POST and PATCH with a token may answer these (the Idempotency-Key handling, and a
# conditional write that lost to a concurrent change).
IDEMPOTENT_WRITE: tuple[str, ...] = ("idempotency_key_reused", "request_in_progress", "conflict")

_CLAIM = ("not_active", "paused", "sold_out", "per_customer_limit_reached")
_CODE_CLAIM = ("already_claimed", "paused", "not_active", "per_customer_limit_reached")
_REVIEW = ("invalid_transition",)

# Each route's own codes (beyond IDEMPOTENT_WRITE on writes), by operationId.
ROUTES: dict[str, tuple[str, ...]] = {
    "distribution_put_levels": ("overlapping_levels",),
    "events_post_order_event": ("event_id_reused",),
    "coupons_edit_template": ("ended",),
    "coupons_pause_template": ("ended",),
    "coupons_resume_template": ("ended",),
    "coupons_claim": _CLAIM,
    "coupons_claim_through_link": _CLAIM,
    "coupons_lock": ("not_available", "budget_exhausted"),
    "coupons_unlock": ("not_available",),
    "coupons_create_issue_job": ("not_active", "paused"),
    "coupons_create_share_link": ("ended",),
    "coupons_create_claim_links": ("paused", "ended"),
    "coupons_create_exchange_codes": ("paused", "ended"),
    "coupons_list_codes": ("not_ready",),
    "coupons_export_codes": ("not_ready",),
    "coupons_claim_link": _CODE_CLAIM,
    "coupons_redeem_code": _CODE_CLAIM,
    "coupons_give_coupon": ("not_giftable", "not_available"),
    "coupons_accept_gift": ("own_gift", "gift_cancelled", "gift_taken", "gift_expired"),
    "coupons_cancel_gift": ("gift_taken",),
    "distribution_register": ("inviter_not_approved", "invite_cycle", "already_registered"),
    "distribution_create_link": ("conflict",),
    "distribution_my_invitation": ("conflict",),
    "distribution_withdraw": ("insufficient_balance", "distributor_suspended", "distributor_not_approved"),
    "distribution_approve_withdrawal": _REVIEW,
    "distribution_reject_withdrawal": _REVIEW,
    "distribution_pay_withdrawal": (*_REVIEW, "already_paid"),
    "distribution_fail_withdrawal": _REVIEW,
    "distribution_transfer_binding": ("distributor_not_approved",),
    "wishlist_create_list": ("list_limit_reached",),
    "wishlist_add_item": ("item_limit_reached",),
    "wishlist_reserve": ("nothing_left",),
    "referral_signup": ("self_referral", "already_referred", "not_new_customer", "mutual_referral"),
}

# Places that raise a code they compute, as "<path>:<function>", with the codes they can raise.
COMPUTED: dict[str, tuple[str, ...]] = {
    "services/distribution/chalicelib/distribution/usecases/posting.py:apply_group": (
        "distributor_suspended",
        "distributor_not_approved",
    ),
    "services/distribution/chalicelib/distribution/usecases/levels.py:put_levels": ("overlapping_levels",),
}


def codes_of(operation_id: str, method: str, authenticated: bool) -> tuple[str, ...]:
    """The 409 codes of one operation: its own, then those of an idempotent write."""
    codes = list(ROUTES.get(operation_id, ()))
    if authenticated and method in ("POST", "PATCH"):
        codes += [c for c in IDEMPOTENT_WRITE if c not in codes]
    return tuple(codes)
