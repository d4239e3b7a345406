"""Coupons for a cart on the fakes (no moto): one read of the wallet, each template's scope read
once, and the order of the usable coupons written down as a rule."""

from __future__ import annotations

from chalicelib.coupons import domain
from chalicelib.coupons.models import CartLine, ForCartIn, TemplateIn
from chalicelib.coupons.usecases import claims, templates, wallet

from .fakes import fake_stores, storage_calls


def test_best_first_is_the_largest_discount_then_the_soonest_expiry_then_the_id() -> None:
    coupons = [
        ("c", 500, None),
        ("b", 900, "2026-12-31T00:00:00Z"),
        ("a", 900, None),
        ("d", 900, "2026-12-05T00:00:00Z"),
        ("e", 500, None),
    ]
    assert [coupons[n][0] for n in domain.best_first(coupons)] == ["d", "b", "a", "c", "e"]
    assert domain.best_first([]) == []


def test_one_wallet_read_and_one_template_read_per_template() -> None:
    stores = fake_stores()
    tid = templates.create_template(
        "s1",
        TemplateIn(name="t", kind="amount_off", amount_off=300, total_stock=10, per_customer_limit=5),
        stores,
    ).template_id
    for _ in range(3):
        claims.claim("s1", tid, "u1", stores)
    before = storage_calls(stores)
    cart = ForCartIn(lines=[CartLine(product_id="p-1", quantity=1, unit_amount=1000)])
    answer = wallet.for_cart("s1", "u1", cart, stores)
    assert [c.discount_amount for c in answer.usable] == [300, 300, 300] and answer.unusable == []
    made = storage_calls(stores) - before
    assert made == {"coupons.wallet": 1, "templates.get": 1}
