"""Helpers for the distribution integration tests: a shop with rules, distributors, links,
order events sent straight to the distribution queue (so duplicates and reorderings are
exact), and balance/ledger checks."""

from __future__ import annotations

from typing import Any

import pytest

SHOP = "s1"


class Dist:
    def __init__(self, gateway: Any, auth: Any, drain: Any, monkeypatch: Any) -> None:
        self.gateway = gateway
        self.auth = auth
        self._drain = drain
        self._monkeypatch = monkeypatch
        self.sent = 0

    def clock_to(self, when: str) -> None:
        """Move the services' clock forward to ``when`` (it keeps ticking; never moves back)."""
        from campaign_shared import clock

        target = clock.parse(when)
        current = clock.now()
        if target <= current:
            return
        shift = target - current
        base = clock.now
        self._monkeypatch.setattr(clock, "now", lambda: base() + shift)

    # ---- setup -------------------------------------------------------------------------

    def rules(self, shop: str = SHOP, **rules: Any) -> Any:
        body = {
            "default_rate_bps": 1000,
            "parent_rate_bps": 500,
            "settle_after_days": 7,
            "auto_approve": True,
        }
        body.update(rules)
        response = self.gateway.put("/distribution/rules", body, headers=self.auth("merchant", shop, "m1"))
        assert response.status_code == 200, response
        return response.json()

    def register(self, sub: str, invited_by: str | None = None, shop: str = SHOP) -> Any:
        body = {"invited_by": invited_by} if invited_by else {}
        return self.gateway.post("/distribution/distributors", body, headers=self.auth("customer", shop, sub))

    def link(self, sub: str, product_id: str | None = None, shop: str = SHOP) -> str:
        body = {"product_id": product_id} if product_id else {}
        response = self.gateway.post("/distribution/links", body, headers=self.auth("customer", shop, sub))
        assert response.status_code == 201, response
        return response.json()["code"]

    def chain(self, shop: str = SHOP) -> tuple[str, str]:
        """Rules (10% / 5%), parent ``p`` and child ``c`` invited by ``p``; returns c's code and p's code."""
        self.rules(shop)
        assert self.register("p", shop=shop).status_code == 201
        assert self.register("c", invited_by="p", shop=shop).status_code == 201
        return self.link("c", shop=shop), self.link("p", shop=shop)

    # ---- events ------------------------------------------------------------------------

    @staticmethod
    def paid(
        order_id: str,
        code: str | None,
        lines: list[tuple[str, int]] | None = None,
        customer: str = "buyer",
        shop: str = SHOP,
        event_id: str | None = None,
        **extra: Any,
    ) -> dict[str, Any]:
        lines = lines or [("l-1", 10000)]
        body = {
            "event_id": event_id or f"paid-{order_id}",
            "type": "order.paid",
            "order_id": order_id,
            "customer_id": customer,
            "occurred_at": "2026-11-11T00:00:05Z",
            "lines": [
                {
                    "line_id": lid,
                    "product_id": f"p-{lid}",
                    "quantity": 1,
                    "unit_amount": amt,
                    "paid_amount": amt,
                }
                for lid, amt in lines
            ],
            "shop": shop,
            **extra,
        }
        if code:
            body["distributor_code"] = code
        return body

    @staticmethod
    def refunded(
        order_id: str, refund_id: str, lines: list[tuple[str, int]], shop: str = SHOP
    ) -> dict[str, Any]:
        return {
            "event_id": f"refund-{order_id}-{refund_id}",
            "type": "order.refunded",
            "order_id": order_id,
            "customer_id": "buyer",
            "occurred_at": "2026-11-12T00:00:00Z",
            "refund": {
                "refund_id": refund_id,
                "lines": [{"line_id": lid, "amount": amt} for lid, amt in lines],
            },
            "shop": shop,
        }

    def send(self, *messages: dict[str, Any]) -> dict[str, int]:
        from campaign_shared import messaging

        for message in messages:
            messaging.send("distribution", message)
        return self._drain("distribution")["distribution"]

    # ---- reads -------------------------------------------------------------------------

    def balance(self, sub: str, shop: str = SHOP) -> dict[str, Any]:
        response = self.gateway.get("/distribution/me/balance", headers=self.auth("customer", shop, sub))
        assert response.status_code == 200, response
        return response.json()

    def amounts(self, sub: str, shop: str = SHOP) -> tuple[int, int, int]:
        b = self.balance(sub, shop)
        return b["pending_amount"], b["available_amount"], b["withdrawn_amount"]

    def reserved(self, sub: str, shop: str = SHOP) -> int:
        """Withdrawals requested and not yet paid or returned."""
        return int(self.balance(sub, shop)["reserved_amount"])

    def commissions(self, sub: str, shop: str = SHOP, **query: Any) -> list[dict[str, Any]]:
        qs = "&".join(f"{k}={v}" for k, v in query.items())
        response = self.gateway.get(
            f"/distribution/me/commissions?{qs}", headers=self.auth("customer", shop, sub)
        )
        assert response.status_code == 200, response
        return response.json()["items"]

    def ledger(self, sub: str, shop: str = SHOP, **query: Any) -> list[dict[str, Any]]:
        qs = "&".join(f"{k}={v}" for k, v in query.items())
        response = self.gateway.get(f"/distribution/me/ledger?{qs}", headers=self.auth("customer", shop, sub))
        assert response.status_code == 200, response
        return response.json()["items"]

    def reconcile(self, sub: str, shop: str = SHOP) -> dict[str, Any]:
        response = self.gateway.get(
            f"/distribution/distributors/{sub}/reconciliation", headers=self.auth("merchant", shop, "m1")
        )
        assert response.status_code == 200, response
        return response.json()

    def settle(self, as_of: str | None = None, shop: str = SHOP) -> dict[str, Any]:
        """A settlement run as of ``as_of``, made at that time: a future ``as_of`` is refused,
        so the clock is first moved forward to it."""
        if as_of:
            self.clock_to(as_of)
        body = {"as_of": as_of} if as_of else {}
        response = self.gateway.post(
            "/distribution/settlements", body, headers=self.auth("merchant", shop, "m1")
        )
        assert response.status_code == 200, response
        return response.json()

    def stats(self, shop: str = SHOP) -> dict[str, Any]:
        response = self.gateway.get("/distribution/stats", headers=self.auth("merchant", shop, "m1"))
        assert response.status_code == 200, response
        return response.json()


@pytest.fixture
def dist(gateway, auth, drain, monkeypatch) -> Dist:
    return Dist(gateway, auth, drain, monkeypatch)
