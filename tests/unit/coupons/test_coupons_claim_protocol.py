"""The claim protocol on in-memory fakes (no moto): stock shards, the per-customer limit, a
write whose answer was lost, a rerun of the same claim, and a crash between the stock write
and the coupon write. Each ends with the two invariants: never more coupons than stock, never
more per customer than the limit, and every unit taken is a coupon or held by its claim."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from campaign_shared.errors import Conflict
from campaign_shared.storage.paging import PageParams
from chalicelib.coupons.models import TemplateIn
from chalicelib.coupons.usecases import claims, templates, wallet

from .fakes import Crash, Faults, fake_stores, storage_calls


@pytest.fixture
def stores():
    return fake_stores()


@pytest.fixture
def faults():
    injected = Faults()
    yield injected
    injected.undo()


def new_template(stores, total_stock=10, per_customer_limit=1, **extra) -> str:
    body = TemplateIn(
        name="t",
        kind="amount_off",
        amount_off=500,
        total_stock=total_stock,
        per_customer_limit=per_customer_limit,
        **extra,
    )
    return templates.create_template("s1", body, stores).template_id


def taken(stores, tid) -> int:
    return sum(s.taken for k, s in stores.stock.items.items() if k[1] == tid)


def inflight(stores, tid) -> dict:
    return {k: v for key, s in stores.stock.items.items() if key[1] == tid for k, v in s.inflight.items()}


def coupons_of(stores, customer=None) -> list:
    return [c for k, c in stores.coupons.items.items() if customer is None or k[1] == customer]


def test_the_stock_spread_over_shards_is_issued_whole_and_never_oversold(stores):
    tid = new_template(stores, total_stock=10)
    answers = []
    for i in range(30):
        try:
            answers.append(claims.claim("s1", tid, f"c{i}", stores).coupon_id)
        except Conflict as refused:
            answers.append(refused.code)
    issued = coupons_of(stores)
    assert len(issued) == 10 and answers.count("sold_out") == 20
    assert sorted(c.slot for c in issued) == list(range(10))  # every unit once
    assert taken(stores, tid) == 10 and inflight(stores, tid) == {}
    shards = [s for k, s in stores.stock.items.items() if k[1] == tid]
    assert len(shards) > 1 and all(s.taken <= s.cap for s in shards)
    # Refused customers got their count back.
    assert sum(stores.limits.counts.values()) == 10


def test_the_per_customer_limit_holds_and_a_refusal_takes_no_stock(stores):
    tid = new_template(stores, total_stock=10, per_customer_limit=2)
    claims.claim("s1", tid, "alice", stores)
    claims.claim("s1", tid, "alice", stores)
    with pytest.raises(Conflict) as refused:
        claims.claim("s1", tid, "alice", stores)
    assert refused.value.code == "per_customer_limit_reached"
    assert len(coupons_of(stores, "alice")) == 2 and taken(stores, tid) == 2
    assert stores.limits.counts[("s1", tid, "alice")] == 2


@pytest.mark.parametrize("write", [("limits", "reserve"), ("stock", "take_block"), ("coupons", "create")])
def test_a_write_whose_answer_was_lost_is_sent_again_and_claims_once(stores, faults, write):
    tid = new_template(stores, total_stock=2)
    repo, method = write
    seen = faults.lost_answer(getattr(stores, repo), method)
    coupon = claims.claim("s1", tid, "alice", stores)
    assert seen["n"] == 1
    assert [c.coupon_id for c in coupons_of(stores)] == [coupon.coupon_id]
    assert taken(stores, tid) == 1 and inflight(stores, tid) == {}
    assert stores.limits.counts[("s1", tid, "alice")] == 1
    # The other unit is still there for somebody else.
    faults.undo()
    claims.claim("s1", tid, "bob", stores)
    with pytest.raises(Conflict):
        claims.claim("s1", tid, "carol", stores)


def test_a_rerun_of_the_same_claim_issues_one_coupon(stores):
    tid = new_template(stores, total_stock=5, per_customer_limit=3)
    first = claims.claim("s1", tid, "alice", stores, coupon_id="cp-same")
    again = claims.claim("s1", tid, "alice", stores, coupon_id="cp-same")
    assert first == again
    assert [c.coupon_id for c in coupons_of(stores)] == ["cp-same"]
    assert taken(stores, tid) == 1 and stores.limits.counts[("s1", tid, "alice")] == 1


def test_a_crash_between_the_stock_write_and_the_coupon_write_is_completed_once_by_a_rerun(stores, faults):
    tid = new_template(stores, total_stock=2)
    faults.fail_before(stores.coupons, "create", lambda: Crash("died before the coupon write"))
    with pytest.raises(Crash):
        claims.claim("s1", tid, "alice", stores, coupon_id="cp-1")
    # The unit is held by the claim (never sold twice), the count too, no coupon yet.
    assert taken(stores, tid) == 1 and coupons_of(stores) == []
    assert set(inflight(stores, tid)) == {"claim:cp-1:s", "claim:cp-1:c"}
    assert stores.limits.holders[("s1", tid, "alice")] == {"claim:cp-1"}
    faults.undo()
    coupon = claims.claim("s1", tid, "alice", stores, coupon_id="cp-1")  # the rerun
    assert [c.coupon_id for c in coupons_of(stores)] == [coupon.coupon_id] == ["cp-1"]
    assert taken(stores, tid) == 1 and inflight(stores, tid) == {}
    assert stores.limits.counts[("s1", tid, "alice")] == 1
    claims.claim("s1", tid, "bob", stores)
    assert taken(stores, tid) == 2 and len(coupons_of(stores)) == 2


def test_a_crash_right_after_the_coupon_write_leaves_only_a_marker_a_rerun_clears(stores, faults):
    tid = new_template(stores, total_stock=3)
    faults.crash_after(stores.coupons, "create")
    with pytest.raises(Crash):
        claims.claim("s1", tid, "alice", stores, coupon_id="cp-1")
    assert len(coupons_of(stores)) == 1 and taken(stores, tid) == 1
    faults.undo()
    claims.claim("s1", tid, "alice", stores, coupon_id="cp-1")
    assert len(coupons_of(stores)) == 1 and taken(stores, tid) == 1 and inflight(stores, tid) == {}


def test_a_transient_failure_of_the_coupon_write_is_retried_within_the_claim(stores, faults):
    tid = new_template(stores, total_stock=2)
    throttled = ClientError({"Error": {"Code": "ThrottlingException", "Message": "injected"}}, "PutItem")
    seen = faults.fail_before(stores.coupons, "create", lambda: throttled, times=2)
    claims.claim("s1", tid, "alice", stores)
    assert seen["n"] == 3 and len(coupons_of(stores)) == 1 and taken(stores, tid) == 1


def test_a_sold_out_claim_gives_the_count_back(stores):
    tid = new_template(stores, total_stock=1)
    claims.claim("s1", tid, "alice", stores)
    with pytest.raises(Conflict) as refused:
        claims.claim("s1", tid, "bob", stores)
    assert refused.value.code == "sold_out"
    assert (
        stores.limits.counts[("s1", tid, "bob")] == 0 and stores.limits.holders[("s1", tid, "bob")] == set()
    )


def test_the_hot_paths_storage_calls(stores):
    """A claim: the template (a process keeps it: the DynamoDB repository reads it once), the
    count, the unit, the coupon and clearing the unit's marker; the wallet: one Query."""
    tid = new_template(stores, total_stock=5)
    before = storage_calls(stores)
    claims.claim("s1", tid, "alice", stores)
    made = storage_calls(stores) - before
    assert made == {
        "templates.get": 1,
        "limits.reserve": 1,
        "stock.take_block": 1,
        "coupons.create": 1,
        "stock.finish_block": 1,
    }
    before = storage_calls(stores)
    page = wallet.my_coupons("s1", "alice", PageParams(), stores)
    assert len(page.items) == 1 and storage_calls(stores) - before == {"coupons.page": 1}
