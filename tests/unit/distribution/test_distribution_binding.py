"""Customer binding: the pure choice (first_touch / last_touch, periods, permanent), and the
order flow on in-memory repositories (repeat orders without a code, takeovers, transfers and
unbinding for later orders only, counts once per order)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from campaign_shared import clock
from campaign_shared.errors import Conflict, NotFound
from campaign_shared.storage.paging import PageParams
from chalicelib.distribution import domain
from chalicelib.distribution.domain import binding as b
from chalicelib.distribution.store.records import DistributorRecord, LinkRecord, RulesRecord
from chalicelib.distribution.usecases import Stores, bindings, orders

from .fakes import fake_stores

SHOP = "s1"
T0 = datetime(2026, 11, 1, tzinfo=UTC)


def _bound(days_ago: int, to: str | None = "a") -> b.Binding:
    return b.Binding("cust", to, T0 - timedelta(days=days_ago))


@pytest.mark.parametrize(
    ("binding", "code_owner", "days", "policy", "expected"),
    [
        (None, "a", None, b.FIRST_TOUCH, b.Choice("a")),  # binding off: the code decides
        (_bound(1), None, None, b.FIRST_TOUCH, b.Choice(None)),
        (None, "a", 30, b.FIRST_TOUCH, b.Choice("a", b.NEW)),
        (None, None, 30, b.FIRST_TOUCH, b.Choice(None)),
        (_bound(10), None, 30, b.FIRST_TOUCH, b.Choice("a")),  # repeat order, no code
        (_bound(10), "z", 30, b.FIRST_TOUCH, b.Choice("a")),  # protected: another code earns nothing
        (_bound(30), "z", 30, b.FIRST_TOUCH, b.Choice("z", b.NEW)),  # lapsed: the new code binds
        (_bound(30), None, 30, b.FIRST_TOUCH, b.Choice(None)),
        (_bound(3000), None, 0, b.FIRST_TOUCH, b.Choice("a")),  # 0: permanent
        (_bound(3000), "z", 0, b.LAST_TOUCH, b.Choice("a")),
        (_bound(10), "z", 30, b.LAST_TOUCH, b.Choice("a")),  # within protection
        (_bound(31), "z", 30, b.LAST_TOUCH, b.Choice("z", b.TAKEOVER)),
        (_bound(31), None, 30, b.LAST_TOUCH, b.Choice("a")),  # last_touch never lapses by itself
        (_bound(1, to=None), "z", 30, b.FIRST_TOUCH, b.Choice("z", b.NEW)),  # unbound by the merchant
    ],
)
def test_who_an_order_earns_for(binding, code_owner, days, policy, expected):
    assert b.choose(binding, code_owner, days, policy, T0) == expected


def test_customer_ids_are_masked():
    assert b.mask_customer("customer-12345") == "cu***45"
    assert b.mask_customer("c-1") == "c***"


@pytest.fixture
def st() -> Stores:
    stores = fake_stores()
    rules = domain.Rules(default_rate_bps=1000, parent_rate_bps=500, auto_approve=True, binding_days=30)
    stores.shops.put_rules(SHOP, RulesRecord(rules, "2026-11-01T00:00:00Z"))
    for sub, parent in (("p", None), ("a", "p"), ("z", None)):
        stores.distributors.create(
            SHOP, DistributorRecord(distributor_id=sub, status="approved", parent_id=parent)
        )
        stores.links.create(SHOP, LinkRecord(f"code-{sub}", sub, None, "2026-11-01T00:00:00Z"))
    return stores


def pay(
    st: Stores, order_id: str, code: str = "", amount: int = 10_000, customer: str = "buyer-0001"
) -> None:
    orders.on_paid(
        orders.Payment(
            shop=SHOP,
            order_id=order_id,
            customer_id=customer,
            currency="CNY",
            code=code,
            occurred_at=clock.iso(clock.now()),
            lines=[domain.PaidLine("l-1", "x", amount)],
        ),
        st=st,
    )


def pending(st: Stores, sub: str) -> int:
    record = st.distributors.get(SHOP, sub)
    assert record is not None
    return record.pending


def test_a_repeat_order_without_a_code_earns_the_bound_distributor_and_the_inviter(st):
    pay(st, "o-0")  # no code, not bound: nothing is recorded
    assert st.orders.get(SHOP, "o-0") is None and st.bindings.get(SHOP, "buyer-0001") is None
    pay(st, "o-1", "code-a")
    pay(st, "o-2")  # no code: the binding earns
    pay(st, "o-2")  # redelivered: counted once
    assert pending(st, "a") == 2000 and pending(st, "p") == 1000
    page = bindings.customers(SHOP, "a", PageParams(), masked=True, st=st)
    assert [(c.customer_id, c.orders, c.gmv_amount) for c in page.items] == [("bu***01", 2, 20_000)]
    pay(st, "o-3", "code-z")  # first_touch: protected, z's code earns a
    assert pending(st, "a") == 3000 and pending(st, "z") == 0


def test_transfer_and_unbind_apply_to_later_orders_and_are_audited(st):
    pay(st, "o-1", "code-a")
    st.distributors.set_status(SHOP, "z", "suspended", "2026-11-02T00:00:00Z")
    with pytest.raises(Conflict) as suspended:
        bindings.change(SHOP, "buyer-0001", "z", "moved", "m1", st=st)
    assert suspended.value.code == "distributor_not_approved"
    assert st.bindings.get(SHOP, "buyer-0001").distributor_id == "a"  # nothing written
    st.distributors.set_status(SHOP, "z", "approved", "2026-11-02T00:00:00Z")
    with pytest.raises(NotFound):
        bindings.change(SHOP, "buyer-0001", "nobody", "moved", "m1", st=st)
    moved = bindings.change(SHOP, "buyer-0001", "z", "customer asked", "m1", st=st)
    assert moved.distributor_id == "z" and (moved.orders, moved.gmv_amount) == (0, 0)
    pay(st, "o-2")
    pay(st, "o-1", "code-a")  # the old order redelivered: still a's, not counted for z
    assert pending(st, "a") == 1000 and pending(st, "z") == 1000
    gone = bindings.change(SHOP, "buyer-0001", None, "fraud review", "m1", st=st)
    assert gone.distributor_id is None
    pay(st, "o-3")  # no code, unbound: nothing
    assert st.orders.get(SHOP, "o-3") is None
    actions = [(c.action, c.from_distributor, c.to_distributor, c.reason) for c in gone.history]
    assert actions == [
        ("bind", None, "a", None),
        ("transfer", "a", "z", "customer asked"),
        ("unbind", "z", None, "fraud review"),
    ]


def test_last_touch_takes_over_after_the_protection_period(st, monkeypatch):
    record = st.shops.get_rules(SHOP)
    rules = domain.Rules(**{**record.rules.__dict__, "binding_policy": b.LAST_TOUCH})
    st.shops.put_rules(SHOP, RulesRecord(rules, record.updated_at))
    pay(st, "o-1", "code-a")
    moment = clock.now() + timedelta(days=31)
    monkeypatch.setattr(clock, "now", lambda: moment)
    pay(st, "o-2", "code-z")
    pay(st, "o-3")
    assert pending(st, "a") == 1000 and pending(st, "z") == 2000
    found = st.bindings.get(SHOP, "buyer-0001")
    assert found is not None and [c.action for c in found.changes] == ["bind", "takeover"]
    assert (found.orders, found.distributor_id) == (2, "z")  # o-2 took the customer over, o-3 counted


def test_without_binding_nothing_is_bound_or_counted(st):
    record = st.shops.get_rules(SHOP)
    rules = domain.Rules(**{**record.rules.__dict__, "binding_days": None})
    st.shops.put_rules(SHOP, RulesRecord(rules, record.updated_at))
    calls: list[str] = []
    st.bindings.count_order = lambda *a, **k: calls.append("count")  # type: ignore[method-assign]
    pay(st, "o-1", "code-a")
    pay(st, "o-2")
    assert pending(st, "a") == 1000 and calls == [] and st.bindings.items == {}


def test_a_binding_counts_each_order_once_and_forgets_old_ones(st, monkeypatch):
    record = st.shops.get_rules(SHOP)
    rules = domain.Rules(**{**record.rules.__dict__, "binding_days": 0})  # permanent
    st.shops.put_rules(SHOP, RulesRecord(rules, record.updated_at))
    pay(st, "o-1", "code-a")  # binds, counted in the same put
    pay(st, "o-2")
    pay(st, "o-2")  # a redelivery
    found = st.bindings.get(SHOP, "buyer-0001")
    assert found is not None and (found.orders, found.gmv_amount) == (2, 20_000)
    assert set(found.counted) == {"o-1", "o-2"} and [c.action for c in found.changes] == ["bind"]
    moment = clock.now() + timedelta(days=bindings.COUNT_WINDOW_DAYS + 1)
    monkeypatch.setattr(clock, "now", lambda: moment)
    pay(st, "o-3")  # counting o-3 forgets o-1 and o-2 (paid before the window)
    found = st.bindings.get(SHOP, "buyer-0001")
    assert found is not None and found.counted.keys() == {"o-3"} and found.orders == 3
    # o-1 comes back from a DLQ: its order is recorded (a redelivery), paid before the window
    orders.on_paid(
        orders.Payment(
            shop=SHOP,
            order_id="o-1",
            customer_id="buyer-0001",
            currency="CNY",
            code="code-a",
            occurred_at=clock.iso(moment - timedelta(days=bindings.COUNT_WINDOW_DAYS + 1)),
            lines=[domain.PaidLine("l-1", "x", 10_000)],
        ),
        st=st,
    )
    found = st.bindings.get(SHOP, "buyer-0001")
    assert found is not None and (found.orders, found.gmv_amount) == (3, 30_000)
    assert pending(st, "a") == 3000
