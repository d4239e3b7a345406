"""Accepting order events on a fake table (no moto): published once per ``event_id``, a
reused id with another body refused, and a crash or failed publish between the record and
the publish completed by the storefront's retry."""

from __future__ import annotations

import pytest

from campaign_shared.errors import Conflict
from campaign_shared.events import OrderEvent
from chalicelib.events import domain, usecases
from chalicelib.events.store.records import EventRecord
from tests.unit.events.fakes import Crash, FakeEvents

PAID = {
    "event_id": "e-1",
    "type": "order.paid",
    "order_id": "o-1",
    "customer_id": "c-1",
    "occurred_at": "2026-11-11T00:00:05Z",
    "lines": [
        {"line_id": "l-1", "product_id": "p-1", "quantity": 2, "unit_amount": 5000, "paid_amount": 9000}
    ],
}


def accept(fake, body=PAID, shop="s1"):
    return usecases.accept(shop, OrderEvent.model_validate(body), fake.stores())


def test_an_event_is_published_once_with_its_shop_and_recorded_published():
    fake = FakeEvents()
    assert accept(fake) is True
    ((topic, message),) = fake.published
    assert topic == "order-events" and message["shop"] == "s1" and message["event_id"] == "e-1"
    assert fake.records[("s1", "e-1")].status == "published"
    assert fake.records[("s1", "e-1")].digest == domain.fingerprint(message)


def test_a_duplicate_is_accepted_and_not_published_again():
    fake = FakeEvents()
    accept(fake)
    assert accept(fake) is False
    assert len(fake.published) == 1


def test_the_same_id_in_another_shop_is_another_event():
    fake = FakeEvents()
    accept(fake)
    assert accept(fake, shop="s2") is True
    assert len(fake.published) == 2


def test_a_reused_id_with_another_body_is_refused():
    fake = FakeEvents()
    accept(fake)
    with pytest.raises(Conflict) as refused:
        accept(fake, {**PAID, "order_id": "o-2"})
    assert (
        refused.value.code == "event_id_reused"
        and str(refused.value) == "event e-1 was accepted with another body"
    )
    assert len(fake.published) == 1


@pytest.mark.parametrize("crash_after", [1, 2])
def test_a_crash_after_a_write_is_completed_once_by_the_retry(crash_after):
    """Write 1 is the pending record, then the publish, then write 2 marks it published."""
    fake = FakeEvents(crash_after=crash_after)
    with pytest.raises(Crash):
        accept(fake)
    accept(fake)
    accept(fake)
    assert len(fake.published) == 1
    assert fake.records[("s1", "e-1")].status == "published"


def test_a_crash_between_the_publish_and_the_mark_publishes_again_once_on_the_retry():
    """Publishing twice is harmless (consumers are idempotent); never publishing is what the
    order of the writes prevents."""
    fake = FakeEvents()
    publish = fake.publish

    def publish_then_die(topic, message):
        publish(topic, message)
        raise Crash("after the publish")

    with pytest.raises(Crash):
        usecases.accept("s1", OrderEvent.model_validate(PAID), usecases.Stores(fake, publish_then_die))
    assert fake.records[("s1", "e-1")].status == "pending"
    accept(fake)
    accept(fake)
    assert len(fake.published) == 2 and fake.published[0] == fake.published[1]
    assert fake.records[("s1", "e-1")].status == "published"


def test_a_failed_publish_leaves_the_record_pending_for_the_retry():
    fake = FakeEvents(publish_failure=RuntimeError("sns is down"))
    with pytest.raises(RuntimeError):
        accept(fake)
    assert fake.records[("s1", "e-1")].status == "pending"
    assert accept(fake) is True and len(fake.published) == 1


def test_a_record_from_before_statuses_reads_as_published():
    old = EventRecord.from_item("s1", "e-1", {"digest": "d", "type": "order.paid", "expires_at_epoch": 1})
    assert old.status == "published"
    assert domain.decide("d", old.digest, old.status) == "already_published"
    assert domain.decide("other", old.digest, old.status) == "reused"
    assert domain.decide("d", "d", "pending") == "publish"
