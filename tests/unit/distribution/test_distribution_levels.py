"""Levels and performance: the pure rules (ladder validation, the level reached, the rate
under a level, new/repeat customers) and the flows on in-memory repositories (evaluation
with history, the level in force when an order was paid, a crashed change finished later)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from campaign_shared import clock
from campaign_shared.errors import Conflict, InvalidRequest
from chalicelib.distribution import domain, models_levels
from chalicelib.distribution.domain import Entry, PaidLine
from chalicelib.distribution.domain import levels as lv
from chalicelib.distribution.domain import performance as perf
from chalicelib.distribution.store.records import DistributorRecord, LinkRecord, RulesRecord
from chalicelib.distribution.usecases import Stores, levels, orders, performance

from .fakes import fake_stores

SHOP = "s1"
SILVER = lv.Level("silver", "Silver", min_gmv_amount=10_000, bonus_bps=200)
GOLD = lv.Level("gold", "Gold", min_gmv_amount=50_000, min_orders=3, rate_bps=1500)


# ---- the ladder -------------------------------------------------------------------------------


def _problem(*ladder: lv.Level, parent: int = 500, highest: int = 1000) -> lv.Problem | None:
    return lv.ladder_problem(ladder, parent, highest)


def test_a_valid_ladder_has_no_problem():
    assert _problem() is None
    assert _problem(SILVER, GOLD) is None
    recruits = lv.Level("r", "Recruiter", min_gmv_amount=50_000, min_orders=3, min_recruits=2, bonus_bps=100)
    assert _problem(SILVER, GOLD, recruits) is None  # a higher level may add a threshold


@pytest.mark.parametrize(
    ("ladder", "param", "code"),
    [
        # the same thresholds on the same metric: which one is higher is ambiguous
        ((SILVER, lv.Level("s2", "Silver 2", min_gmv_amount=10_000, rate_bps=1200)), "levels[1]", lv.OVERLAP),
        # a higher level with a lower threshold than the level below
        ((GOLD, SILVER), "levels[1].min_gmv_amount", lv.OVERLAP),
        # mixing metrics without carrying the lower level's thresholds up
        (
            (SILVER, lv.Level("o", "Orders", min_orders=5, bonus_bps=300)),
            "levels[1].min_gmv_amount",
            lv.OVERLAP,
        ),
        (
            (SILVER, lv.Level("silver", "Other", min_gmv_amount=20_000, bonus_bps=1)),
            "levels[1].level_id",
            lv.INVALID,
        ),
        ((SILVER, lv.Level("x", "Silver", min_gmv_amount=20_000, bonus_bps=1)), "levels[1].name", lv.INVALID),
        ((lv.Level("x", "X", min_orders=1),), "levels[0]", lv.INVALID),  # neither rate nor bonus
        ((lv.Level("x", "X", min_orders=1, rate_bps=1, bonus_bps=1),), "levels[0]", lv.INVALID),
        ((lv.Level("x", "X", rate_bps=1200),), "levels[0]", lv.INVALID),  # no threshold
        ((lv.Level("x", "X", min_orders=1, rate_bps=9600),), "levels[0].rate_bps", lv.INVALID),
        ((lv.Level("x", "X", min_orders=1, bonus_bps=8600),), "levels[0].bonus_bps", lv.INVALID),
        (
            tuple(lv.Level(f"l{i}", f"L{i}", min_orders=i + 1, bonus_bps=1) for i in range(21)),
            "levels",
            lv.INVALID,
        ),
    ],
)
def test_ladder_problems_name_the_param(ladder, param, code):
    problem = _problem(*ladder)
    assert problem is not None and (problem.param, problem.code) == (param, code)


def test_the_level_reached_is_the_highest_whose_thresholds_are_all_met():
    ladder = (SILVER, GOLD)
    assert lv.reached(ladder, lv.Metrics(9_999, 10, 0)) is None
    assert lv.reached(ladder, lv.Metrics(10_000, 0, 0)) == SILVER
    assert lv.reached(ladder, lv.Metrics(80_000, 2, 0)) == SILVER  # gold needs 3 orders too
    assert lv.reached(ladder, lv.Metrics(50_000, 3, 0)) == GOLD
    assert (lv.rank(ladder, "gold"), lv.rank(ladder, None), lv.rank(ladder, "gone")) == (2, 0, 0)


def test_the_rate_under_a_level():
    assert lv.tier1_rate(1000, 500, None) == 1000
    assert lv.tier1_rate(1000, 500, SILVER) == 1200  # bonus: added
    assert lv.tier1_rate(1000, 500, GOLD) == 1500  # override: replaces
    assert lv.tier1_rate(300, 0, GOLD) == 1500  # even a lower product rate
    assert lv.tier1_rate(0, 0, GOLD) == 0  # a product the rules exclude stays excluded
    big = lv.Level("b", "B", min_orders=1, bonus_bps=9000)
    assert lv.tier1_rate(1000, 500, big) == 9500  # capped: tier 1 + tier 2 <= 10,000


def test_priced_lines_floor_each_line_at_the_level_rate_and_keep_tier_2():
    rules = domain.Rules(default_rate_bps=1000, parent_rate_bps=500)
    lines = [PaidLine("l-1", "p", 999), PaidLine("l-2", "p", 10_001)]
    priced = domain.priced_lines(rules, lines, True, SILVER)
    assert [(p.tier1_rate_bps, p.tier1_accrual, p.tier2_accrual, p.level) for p in priced] == [
        (1200, 119, 49, "silver"),  # floor(999 * 0.12) = 119, floor(999 * 0.05) = 49
        (1200, 1200, 500, "silver"),  # floor(10001 * 0.12) = 1200
    ]
    assert domain.priced_lines(rules, lines, True)[0].level is None


# ---- performance ------------------------------------------------------------------------------


def _sale(order: str, at: str, customer: str, paid: int, earned: int, tier: int = 1) -> Entry:
    return Entry(
        entry_id=f"{order}#l-1#t{tier}#accrual",
        kind="accrual",
        at=at,
        currency="CNY",
        amount=earned,
        pending=earned,
        earned=earned,
        order_id=order,
        line_id="l-1",
        tier=tier,
        paid_amount=paid,
        customer_id=customer,
    )


def test_new_and_repeat_customers_gmv_orders_and_net_commission():
    start, end = "2026-11-01T00:00:00Z", "2026-12-01T00:00:00Z"
    reversal = Entry(
        "o-3#l-1#t1#reversal#r", "reversal", "2026-11-20T00:00:00Z", "CNY", 300, pending=-300, earned=-300
    )
    entries = [
        _sale("o-1", "2026-10-15T00:00:00Z", "ann", 5000, 500),  # before: ann is a repeat customer
        _sale("o-2", "2026-11-02T00:00:00Z", "ann", 4000, 400),
        _sale("o-3", "2026-11-03T00:00:00Z", "bob", 6000, 600),  # bob's first: new
        _sale("o-4", "2026-11-04T00:00:00Z", "bob", 1000, 100),  # bob again: still new, not both
        _sale("o-5", "2026-11-05T00:00:00Z", "cat", 9000, 450, tier=2),  # tier 2: commission only
        reversal,
        _sale("o-6", "2026-12-01T00:00:00Z", "dan", 7000, 700),  # after the period
    ]
    made = perf.figures(entries, start, end)
    assert made == perf.Figures(
        gmv_amount=11_000, orders=3, new_customers=1, repeat_customers=1, commission_amount=1250
    )
    assert made.customers == 2


def test_period_bounds_are_whole_days_and_bounded():
    start, end = performance.period(datetime(2026, 11, 1).date(), datetime(2026, 11, 30).date())
    assert (start, end) == ("2026-11-01T00:00:00Z", "2026-12-01T00:00:00Z")
    with pytest.raises(InvalidRequest) as backwards:
        performance.period(datetime(2026, 11, 2).date(), datetime(2026, 11, 1).date())
    assert backwards.value.details[0]["loc"] == ["query", "to"]
    with pytest.raises(InvalidRequest):
        performance.period(datetime(2025, 1, 1).date(), datetime(2026, 1, 2).date())  # 367 days


# ---- flows on the fakes -------------------------------------------------------------------------


@pytest.fixture
def st() -> Stores:
    stores = fake_stores()
    rules = domain.Rules(default_rate_bps=1000, parent_rate_bps=500, auto_approve=True)
    stores.shops.put_rules(SHOP, RulesRecord(rules, "2026-11-01T00:00:00Z"))
    for sub, parent in (("p", None), ("a", "p")):
        stores.distributors.create(
            SHOP, DistributorRecord(distributor_id=sub, status="approved", parent_id=parent)
        )
        stores.links.create(SHOP, LinkRecord(f"code-{sub}", sub, None, "2026-11-01T00:00:00Z"))
    return stores


def _at(monkeypatch, moment: datetime) -> None:
    monkeypatch.setattr(clock, "now", lambda: moment)


def _pay(st: Stores, order_id: str, paid: datetime, amount: int = 10_000, customer: str = "buyer") -> None:
    orders.on_paid(
        orders.Payment(
            SHOP, order_id, customer, "CNY", "code-a", clock.iso(paid), [PaidLine("l-1", "x", amount)]
        ),
        st=st,
    )


def _accrual(st: Stores, order_id: str, tier: int = 1) -> Entry:
    (found,) = [
        e
        for e in st.ledger.all_entries(SHOP, "a" if tier == 1 else "p")
        if e.order_id == order_id and e.kind == "accrual"
    ]
    return found


def _ladder(st: Stores) -> None:
    body = models_levels.DistributionLevelsIn.model_validate(
        {
            "levels": [
                {"level_id": "silver", "name": "Silver", "min_gmv_amount": 10_000, "bonus_bps": 200},
                {
                    "level_id": "gold",
                    "name": "Gold",
                    "min_gmv_amount": 50_000,
                    "min_orders": 3,
                    "rate_bps": 1500,
                },
            ]
        }
    )
    levels.put_levels(SHOP, body, st=st)


def test_an_overlapping_ladder_is_refused_with_nothing_written(st):
    _ladder(st)
    body = models_levels.DistributionLevelsIn.model_validate(
        {
            "levels": [
                {"level_id": "gold", "name": "Gold", "min_gmv_amount": 50_000, "rate_bps": 1500},
                {"level_id": "silver", "name": "Silver", "min_gmv_amount": 10_000, "bonus_bps": 200},
            ]
        }
    )
    with pytest.raises(Conflict) as refused:
        levels.put_levels(SHOP, body, st=st)
    assert refused.value.code == "overlapping_levels"
    assert refused.value.details[0]["loc"] == ["body", "levels", 1, "min_gmv_amount"]
    assert [lv.level_id for lv in levels.get_levels(SHOP, st=st).levels] == ["silver", "gold"]


def test_evaluation_moves_up_and_down_with_history_and_orders_use_the_level_in_force(st, monkeypatch):
    t0 = datetime(2026, 11, 1, tzinfo=UTC)
    _at(monkeypatch, t0)
    _ladder(st)
    _pay(st, "o-1", t0, 20_000)
    assert _accrual(st, "o-1").rate_bps == 1000 and _accrual(st, "o-1").level is None

    t1 = t0 + timedelta(hours=1)
    _at(monkeypatch, t1)
    ran = levels.evaluate(SHOP, st=st)
    assert (ran.evaluated, ran.promoted, ran.demoted) == (2, 1, 0)
    mine = levels.level_of(SHOP, "a", st=st)
    assert (mine.level_id, mine.rank, mine.since, mine.bonus_bps) == ("silver", 1, clock.iso(t1), 200)
    (change,) = mine.history
    assert (change.from_level, change.to_level, change.metrics.gmv_amount, change.metrics.orders) == (
        None,
        "silver",
        20_000,
        1,
    )
    assert levels.evaluate(SHOP, st=st).promoted == 0  # a rerun changes nothing

    _pay(st, "o-late", t0 + timedelta(minutes=30))  # paid before the change, arrives after it
    _pay(st, "o-2", t1 + timedelta(minutes=1))
    late, now = _accrual(st, "o-late"), _accrual(st, "o-2")
    assert (late.level, late.rate_bps, late.amount) == (None, 1000, 1000)
    assert (now.level, now.rate_bps, now.amount, now.paid_amount, now.customer_id) == (
        "silver",
        1200,
        1200,
        10_000,
        "buyer",
    )
    parent = _accrual(st, "o-2", tier=2)
    assert (parent.level, parent.rate_bps, parent.amount) == (None, 500, 500)  # tier 2 unchanged
    assert st.orders.get(SHOP, "o-2").order.lines[0].level == "silver"

    _at(monkeypatch, t0 + timedelta(days=40))  # the window is empty: back to the base
    assert levels.evaluate(SHOP, st=st).demoted == 1
    history = levels.level_of(SHOP, "a", st=st).history
    assert [(c.from_level, c.to_level) for c in history] == [("silver", None), (None, "silver")]
    _pay(st, "o-3", t0 + timedelta(days=40))
    assert _accrual(st, "o-3").level is None and _accrual(st, "o-3").rate_bps == 1000
    _pay(st, "o-late-2", t1 + timedelta(days=2))  # paid while silver: silver, though it came last
    assert _accrual(st, "o-late-2").level == "silver"


def test_a_change_left_unlogged_by_a_crash_is_shown_and_logged_by_the_next_run(st, monkeypatch):
    t0 = datetime(2026, 11, 1, tzinfo=UTC)
    _at(monkeypatch, t0)
    _ladder(st)
    _pay(st, "o-1", t0, 20_000)

    def crash(shop: str, change: object) -> None:
        raise RuntimeError("crashed before the history write")

    _at(monkeypatch, t0 + timedelta(hours=1))
    monkeypatch.setattr(st.levels, "log_change", crash)
    with pytest.raises(RuntimeError):
        levels.evaluate(SHOP, st=st)
    monkeypatch.undo()
    _at(monkeypatch, t0 + timedelta(hours=2))
    shown = levels.level_of(SHOP, "a", st=st)
    assert shown.level_id == "silver" and [c.to_level for c in shown.history] == ["silver"]
    assert st.levels.history(SHOP, "a", 10) == []
    levels.evaluate(SHOP, st=st)
    assert [c.to_level for c in st.levels.history(SHOP, "a", 10)] == ["silver"]
    assert st.distributors.get(SHOP, "a").level_log is None


def test_recruits_count_toward_a_level(st, monkeypatch):
    t0 = datetime(2026, 11, 1, tzinfo=UTC)
    _at(monkeypatch, t0)
    body = models_levels.DistributionLevelsIn.model_validate(
        {"levels": [{"level_id": "leader", "name": "Leader", "min_recruits": 2, "bonus_bps": 100}]}
    )
    levels.put_levels(SHOP, body, st=st)
    for sub in ("r1", "r2"):
        st.distributors.create(
            SHOP,
            DistributorRecord(sub, "approved", parent_id="p", created_at=clock.iso(t0 - timedelta(days=1))),
        )
    st.distributors.create(
        SHOP,
        DistributorRecord("r3", "approved", parent_id="a", created_at=clock.iso(t0 - timedelta(days=31))),
    )
    levels.evaluate(SHOP, st=st)
    assert st.distributors.get(SHOP, "p").level_id == "leader"
    assert st.distributors.get(SHOP, "a").level_id is None  # a's recruit is older than 30 days
