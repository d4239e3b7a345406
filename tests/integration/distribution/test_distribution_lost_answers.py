"""Writes whose answer was lost and which were retried (found by the careful-client fault
suite): each meets its own earlier write and carries on, instead of taking it for a rival."""

from __future__ import annotations


def _applied_twice(monkeypatch, method: str, match) -> list[int]:
    """The first call matching ``match`` commits and then is "retried" (the caller sees the retry)."""
    from campaign_shared import aws

    client = aws.dynamodb()
    real = getattr(client, method)
    hits: list[int] = []

    def twice(**kwargs):
        if not hits and match(kwargs):
            hits.append(1)
            real(**kwargs)
        return real(**kwargs)

    monkeypatch.setattr(client, method, twice)
    return hits


def test_a_link_whose_owner_record_write_was_retried_still_resolves(dist, gateway, auth, monkeypatch):
    dist.rules()
    assert dist.register("d").status_code == 201
    hits = _applied_twice(monkeypatch, "put_item", lambda kw: kw["Item"]["sk"]["S"].startswith("link#"))
    code = dist.link("d")
    monkeypatch.undo()
    assert hits
    resolved = gateway.get(f"/distribution/links/{code}", headers=auth("customer", "s1", "d"))
    assert resolved.status_code == 200, resolved
    assert dist.link("d") == code  # the same link when asked again
    dist.send(dist.paid("o-1", code))
    assert dist.amounts("d") == (1000, 0, 0)


def test_an_order_save_retried_after_a_lost_answer_posts_at_once(dist, monkeypatch):
    """Before: the retried save met its own claim, the delivery read it as another delivery's
    and the event waited for the claim to expire (and went to the DLQ in between)."""
    code, _ = dist.chain()
    hits = _applied_twice(
        monkeypatch,
        "update_item",
        lambda kw: (
            "applied" in kw.get("UpdateExpression", "") and "version" in kw.get("UpdateExpression", "")
        ),
    )
    stats = dist.send(dist.paid("o-1", code))
    monkeypatch.undo()
    assert hits
    assert stats["failed"] == 0, stats
    assert dist.amounts("c") == (1000, 0, 0) and dist.amounts("p") == (500, 0, 0)
