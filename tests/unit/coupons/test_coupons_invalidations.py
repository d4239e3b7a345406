"""The invalidation protocol on fakes: a page read again counts the same coupons, the outcome
reaches the template once, and the stock goes back once."""

from __future__ import annotations

import pytest

from chalicelib.coupons.models import InvalidationPage, TemplateIn
from chalicelib.coupons.store.records import Invalidation
from chalicelib.coupons.usecases import claims, invalidations, templates, wallet

from .fakes import fake_stores


@pytest.fixture
def stores():
    return fake_stores()


def test_a_page_read_again_and_a_redelivered_end_change_nothing_twice(stores):
    body = TemplateIn(name="t", kind="amount_off", amount_off=500, total_stock=5, stock_shards=2)
    tid = templates.create_template("s1", body, stores, actor="m").template_id
    for n in range(4):
        claims.claim("s1", tid, f"c{n}", stores)
    locked = next(c for k, c in stores.coupons.items.items() if k[1] == "c3")
    wallet.lock("s1", "c3", locked.coupon_id, "o-1", stores)
    job = Invalidation("inv-1", tid, True, 1, "2026-12-02T00:00:00Z", "m")
    stores.invalidations.create("s1", job)
    page = InvalidationPage(shop="s1", invalidation_id="inv-1", segment=0, page=0)
    invalidations.run_page(page, stores)
    stores.invalidations.items[("s1", "inv-1")] = job  # as if its end was not recorded: read again
    stores.invalidations.pages.clear()
    invalidations.run_page(page, stores)
    done = stores.invalidations.get("s1", "inv-1")
    assert (done.voided, done.voided_on_release, done.stock_returned) == (3, 1, 3)
    template = stores.templates.items[("s1", tid)]
    assert (template.invalidated_count, template.total_stock) == (3, 8)
    assert sum(s.cap for k, s in stores.stock.items.items() if k[1] == tid) == 8
    assert [c.action for c in stores.templates.changes[("s1", tid)]] == ["created", "invalidated"]
    released = wallet.unlock("s1", "c3", locked.coupon_id, stores)
    assert released.status == "invalidated"
