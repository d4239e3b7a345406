"""Gifting on fakes: a give that crashed between the coupon and the gift record does not
hold the coupon until that gift's time is up."""

from __future__ import annotations

import pytest

from campaign_shared.errors import NotFound
from chalicelib.coupons.models import GiftIn, TemplateIn
from chalicelib.coupons.usecases import claims, gifts, templates

from .fakes import Crash, Faults, fake_stores


def test_a_give_that_crashed_before_its_gift_can_be_given_again_at_once():
    stores, faults = fake_stores(), Faults()
    body = TemplateIn(name="t", kind="amount_off", amount_off=500, total_stock=3, giftable=True)
    tid = templates.create_template("s1", body, stores).template_id
    coupon = claims.claim("s1", tid, "giver", stores)
    faults.crash_after(stores.coupons, "start_gift")
    with pytest.raises(Crash):
        gifts.give("s1", "giver", coupon.coupon_id, GiftIn(), stores)
    faults.undo()
    lost = stores.coupons.get("s1", "giver", coupon.coupon_id).gift["gift_id"]
    with pytest.raises(NotFound):
        gifts.accept("s1", lost, "friend", stores)  # the crashed gift was never handed out
    again = gifts.give("s1", "giver", coupon.coupon_id, GiftIn(), stores)
    received = gifts.accept("s1", again.gift_id, "friend", stores)
    assert (received.customer_id, received.status) == ("friend", "available")
    assert stores.coupons.get("s1", "giver", coupon.coupon_id).status == "gifted"
