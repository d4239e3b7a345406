"""The resource definition's queues: names that existing stacks keep, and what it refuses."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from campaign_shared.resources import SERVICES, QueueSpec, ServiceSpec, queue_key, queue_name


def test_main_queues_keep_their_names_and_other_queues_add_their_own():
    assert queue_name("prod", "coupons") == "campaign-prod-coupons"
    assert queue_name("prod", "coupons", dead_letter=True) == "campaign-prod-coupons-dlq"
    assert queue_name("prod", "coupons", logical="bulk") == "campaign-prod-coupons-bulk"
    assert queue_name("prod", "coupons", dead_letter=True, logical="bulk") == "campaign-prod-coupons-bulk-dlq"
    assert (queue_key("coupons"), queue_key("coupons", "bulk")) == ("coupons", "coupons-bulk")


def test_coupons_has_an_order_queue_and_a_smaller_bulk_queue_others_one_queue():
    coupons = SERVICES["coupons"]
    assert [q.logical for q in coupons.queues] == ["main", "bulk"]
    orders, bulk = coupons.queue(), coupons.queue("bulk")
    assert orders.subscribes_to == ("order-events",) and orders.max_concurrency is None
    assert bulk.subscribes_to == () and bulk.max_concurrency == 2 and bulk.consumer == "bulk_queue_consumer"
    assert (
        coupons.queue_of_consumer("bulk_queue_consumer") is bulk and coupons.queue_of_consumer("api") is None
    )
    for name in ("distribution", "wishlist", "referral"):
        assert [q.logical for q in SERVICES[name].queues] == ["main"]
    assert SERVICES["events"].queues == ()
    with pytest.raises(KeyError, match="coupons has no queue 'nope'"):
        coupons.queue("nope")


@pytest.mark.parametrize(
    ("queues", "message"),
    [
        ((QueueSpec(), QueueSpec(consumer="other")), "queue names must be unique"),
        ((QueueSpec(logical="bulk", consumer="b"),), "the first queue must be the 'main' one"),
        ((QueueSpec(), QueueSpec(logical="bulk")), "each queue needs its own consumer function"),
    ],
)
def test_ambiguous_queue_definitions_are_refused(queues, message):
    with pytest.raises(ValidationError, match=message):
        ServiceSpec(name="x", queues=queues)


def test_a_queue_cannot_ask_for_less_than_lambdas_minimum_concurrency():
    with pytest.raises(ValidationError):
        QueueSpec(max_concurrency=1)
    with pytest.raises(ValidationError):
        QueueSpec(logical="Bulk Queue")
