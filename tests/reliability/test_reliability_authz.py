"""Issue 8, suite 4: the authorization matrix of ``../shared/API.md``, in one table-driven test.

Every contract route (the tables of API.md) x every caller (no token, merchant, customer,
storefront) x own shop (s1, where the resources live) and another shop (s2):

- no token: 401 ``unauthorized``;
- a role API.md does not allow: 403 ``forbidden``, in either shop;
- an allowed role of the own shop: neither 401 nor 403 (nor a 5xx);
- an allowed role of another shop: a resource of s1 named in the path (or body) is 404, and no
  2xx body of s2 ever carries an id of s1;
- someone else's resource in the own shop (another customer's coupon, wishlist, the owner
  reserving on their own list) is refused as API.md implies.

The table is also checked against the route registry (the roles each route declares), so a
route whose roles drift from the contract fails here.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

MERCHANT, STOREFRONT = "m1", "store-1"
OWNER, FRIEND, NEWCOMER = "c-owner", "c-friend", "c-new"
ROLES = ("merchant", "customer", "storefront")
SUBS = {"merchant": MERCHANT, "customer": OWNER, "storefront": STOREFRONT}
RESERVED = {"status": "ok"}


@dataclass(frozen=True)
class Route:
    method: str
    path: str  # formatted with the world's ids of shop s1
    roles: tuple[str, ...]  # as API.md says
    body: Any = None  # formatted likewise (strings only)
    # In another shop: "404" s1's resource named in the path/body; "ok" not 401/403; "403" the
    # caller's qualification in s1 (an approved distributor) does not hold there.
    other_shop: str = "404"
    actor: str | None = None  # the allowed caller's sub in its own shop (default: SUBS[role])
    # (sub, allowed statuses): someone else's resource in the own shop.
    foreign: tuple[tuple[str, frozenset[int]], ...] = field(default_factory=tuple)


NOT_YOURS = frozenset({404})
NOT_YOURS_OR_FORBIDDEN = frozenset({403, 404})

# Every route of API.md's tables, with the roles the contract gives it.
CONTRACT = (
    # /events
    Route(
        "POST",
        "/events/orders",
        ("storefront",),
        other_shop="ok",
        body={
            "event_id": "e-authz",
            "type": "order.paid",
            "order_id": "o-authz",
            "customer_id": "c-buyer",
            "occurred_at": "2026-11-11T00:00:05Z",
            "lines": [
                {"line_id": "l-1", "product_id": "p-1", "quantity": 1, "unit_amount": 100, "paid_amount": 100}
            ],
        },
    ),
    # /coupons
    Route(
        "POST",
        "/coupons/templates",
        ("merchant",),
        other_shop="ok",
        body={"name": "authz", "kind": "amount_off", "amount_off": 100, "total_stock": 5},
    ),
    Route("GET", "/coupons/templates/{template_id}", ("merchant",)),
    Route("POST", "/coupons/templates/{template_id}/claim", ("customer",), actor=FRIEND),
    Route("GET", "/coupons/me", ("customer",), other_shop="ok"),
    Route(
        "POST",
        "/coupons/validate",
        ("customer",),
        body={
            "coupon_id": "{coupon_id}",
            "lines": [{"product_id": "p-1", "quantity": 1, "unit_amount": 5000}],
        },
        foreign=((FRIEND, NOT_YOURS),),
    ),
    Route(
        "POST",
        "/coupons/for-cart",
        ("customer",),
        other_shop="ok",
        body={"lines": [{"product_id": "p-1", "quantity": 1, "unit_amount": 5000}]},
    ),
    Route(
        "POST",
        "/coupons/{coupon_id}/lock",
        ("customer",),
        body={"order_id": "o-lock"},
        foreign=((FRIEND, NOT_YOURS),),
    ),
    Route(
        "POST",
        "/coupons/templates/{template_id}/issue-jobs",
        ("merchant",),
        body={"customer_ids": ["c-bulk-1", "c-bulk-2"]},
    ),
    Route("GET", "/coupons/issue-jobs/{job_id}", ("merchant",)),
    # /coupons: Coupons II additions
    Route("GET", "/coupons/templates", ("merchant",), other_shop="ok"),
    Route("PATCH", "/coupons/templates/{template_id}", ("merchant",), body={"name": "authz renamed"}),
    Route("GET", "/coupons/templates/{template_id}/history", ("merchant",)),
    Route("GET", "/coupons/templates/{template_id}/stats", ("merchant",)),
    Route("GET", "/coupons/settings", ("merchant",), other_shop="ok"),
    Route("PUT", "/coupons/settings", ("merchant",), other_shop="ok", body={"lock_ttl_seconds": 600}),
    Route("POST", "/coupons/{coupon_id}/unlock", ("customer",), foreign=((FRIEND, NOT_YOURS),)),
    Route(
        "POST",
        "/coupons/templates/{template_id}/share-links",
        ("customer", "merchant"),
        body={"channel": "g1"},
    ),
    Route("GET", "/coupons/templates/{template_id}/share-links", ("merchant",)),
    Route("GET", "/coupons/share-links/{share_link_id}", ("merchant",)),
    Route("GET", "/coupons/share-links/{share_link_id}/qr.svg", ("customer", "merchant")),
    Route("GET", "/coupons/share-links/{share_link_id}/qr.png", ("customer", "merchant")),
    Route("POST", "/coupons/share-links/{share_link_id}/claim", ("customer",), actor=NEWCOMER),
    Route("POST", "/coupons/templates/{template_id}/claim-links", ("merchant",), body={"count": 2}),
    Route(
        "POST", "/coupons/templates/{template_id}/exchange-codes", ("merchant",), body={"codes": ["AUTHZ-1"]}
    ),
    Route("GET", "/coupons/code-batches/{batch_id}", ("merchant",)),
    Route("GET", "/coupons/code-batches/{batch_id}/codes", ("merchant",)),
    Route("GET", "/coupons/code-batches/{batch_id}/codes.csv", ("merchant",)),
    Route("POST", "/coupons/claim-links/{link_token}/claim", ("customer",)),
    Route("POST", "/coupons/exchange-codes/redeem", ("customer",), other_shop="ok", body={"code": "NOPE-1"}),
    Route("POST", "/coupons/{coupon_id}/gifts", ("customer",), body={}, foreign=((FRIEND, NOT_YOURS),)),
    Route("GET", "/coupons/gifts/{gift_id}", ("customer",), foreign=((FRIEND, NOT_YOURS),)),
    Route("POST", "/coupons/gifts/{gift_id}/cancel", ("customer",), foreign=((FRIEND, NOT_YOURS),)),
    Route("POST", "/coupons/gifts/{gift_id}/accept", ("customer",), actor=FRIEND),
    Route("POST", "/coupons/templates/{template_id}/invalidations", ("merchant",), body={}),
    Route("GET", "/coupons/invalidations/{invalidation_id}", ("merchant",)),
    Route("POST", "/coupons/templates/{template_id}/pause", ("merchant",)),
    Route("POST", "/coupons/templates/{template_id}/resume", ("merchant",)),
    Route("POST", "/coupons/templates/{template_id}/end", ("merchant",)),
    # /distribution
    Route(
        "PUT",
        "/distribution/rules",
        ("merchant",),
        other_shop="ok",
        body={"default_rate_bps": 1000, "parent_rate_bps": 500, "settle_after_days": 7, "auto_approve": True},
    ),
    Route("POST", "/distribution/distributors", ("customer",), other_shop="ok", actor=NEWCOMER, body={}),
    Route("POST", "/distribution/distributors/{distributor_id}/approve", ("merchant",)),
    # "customer (approved distributor)": being a distributor of s1 counts for nothing in s2.
    Route(
        "POST",
        "/distribution/links",
        ("customer",),
        body={},
        other_shop="403",
        foreign=((FRIEND, frozenset({403})),),
    ),
    Route("GET", "/distribution/me/balance", ("customer",)),
    Route("GET", "/distribution/me/commissions", ("customer",), other_shop="ok"),
    Route("POST", "/distribution/me/withdrawals", ("customer",), body={"amount": 100}),
    Route("POST", "/distribution/settlements", ("merchant",), other_shop="ok", body={}),
    Route("GET", "/distribution/distributors/{distributor_id}/balance", ("merchant",)),
    # /distribution: Distribution II additions (withdrawals as a workflow)
    Route("GET", "/distribution/me/withdrawals/{withdrawal_id}", ("customer",)),
    Route("GET", "/distribution/withdrawals", ("merchant",), other_shop="ok"),
    Route("GET", "/distribution/withdrawals.csv", ("merchant",), other_shop="ok"),
    Route("GET", "/distribution/distributors/{distributor_id}/withdrawals/{withdrawal_id}", ("merchant",)),
    Route(
        "POST",
        "/distribution/distributors/{distributor_id}/withdrawals/{withdrawal_id}/approve",
        ("merchant",),
    ),
    Route(
        "POST",
        "/distribution/distributors/{distributor_id}/withdrawals/{withdrawal_id}/reject",
        ("merchant",),
        body={"reason": "authz"},
    ),
    Route(
        "POST",
        "/distribution/distributors/{distributor_id}/withdrawals/{withdrawal_id}/pay",
        ("merchant",),
        body={"payout_reference": "authz"},
    ),
    Route(
        "POST",
        "/distribution/distributors/{distributor_id}/withdrawals/{withdrawal_id}/fail",
        ("merchant",),
        body={"reason": "authz"},
    ),
    # /distribution: Distribution II additions (invitations); the owner is an approved distributor of s1
    Route(
        "GET",
        "/distribution/me/invitation",
        ("customer",),
        other_shop="403",
        foreign=((FRIEND, frozenset({403})),),
    ),
    Route(
        "GET",
        "/distribution/me/invitation/qr.svg",
        ("customer",),
        other_shop="403",
        foreign=((FRIEND, frozenset({403})),),
    ),
    # /distribution: Distribution II additions (statements)
    Route("GET", "/distribution/me/statements/2026-11", ("customer",)),
    Route("GET", "/distribution/distributors/{distributor_id}/statements/2026-11", ("merchant",)),
    # /distribution: Distribution II additions (customer binding)
    Route("GET", "/distribution/me/customers", ("customer",)),
    Route("GET", "/distribution/distributors/{distributor_id}/customers", ("merchant",)),
    Route("GET", "/distribution/customers/{bound_customer}/binding", ("merchant",)),
    Route(
        "POST",
        "/distribution/customers/{bound_customer}/binding/transfer",
        ("merchant",),
        body={"distributor_id": "{distributor_id}", "reason": "authz"},
    ),
    Route(
        "POST",
        "/distribution/customers/{bound_customer}/binding/unbind",
        ("merchant",),
        body={"reason": "authz"},
    ),
    # /distribution: Distribution II additions (levels, performance, the period leaderboard)
    Route("PUT", "/distribution/levels", ("merchant",), other_shop="ok", body={"levels": []}),
    Route("GET", "/distribution/levels", ("merchant",), other_shop="ok"),
    Route("POST", "/distribution/levels/evaluations", ("merchant",), other_shop="ok"),
    Route("GET", "/distribution/distributors/{distributor_id}/level", ("merchant",)),
    Route("GET", "/distribution/me/level", ("customer",)),
    Route(
        "GET",
        "/distribution/distributors/{distributor_id}/performance?from=2026-11-01&to=2026-11-30",
        ("merchant",),
    ),
    Route("GET", "/distribution/me/performance?from=2026-11-01&to=2026-11-30", ("customer",)),
    Route(
        "GET",
        "/distribution/leaderboard/period?from=2026-11-01&to=2026-11-30",
        ("merchant",),
        other_shop="ok",
    ),
    # /wishlist
    Route("POST", "/wishlist/lists", ("customer",), other_shop="ok", body={"title": "authz"}),
    Route("GET", "/wishlist/lists/{list_id}", ("customer",), foreign=((FRIEND, NOT_YOURS_OR_FORBIDDEN),)),
    Route(
        "POST",
        "/wishlist/lists/{list_id}/items",
        ("customer",),
        body={"product_id": "p-9", "name": "Gift", "unit_amount": 100, "quantity": 1},
        foreign=((FRIEND, NOT_YOURS_OR_FORBIDDEN),),
    ),
    Route(
        "DELETE",
        "/wishlist/lists/{list_id}/items/{spare_item_id}",
        ("customer",),
        foreign=((FRIEND, NOT_YOURS_OR_FORBIDDEN),),
    ),
    Route(
        "POST", "/wishlist/lists/{list_id}/share", ("customer",), foreign=((FRIEND, NOT_YOURS_OR_FORBIDDEN),)
    ),
    Route(
        "DELETE",
        "/wishlist/lists/{spare_list_id}/share",
        ("customer",),
        foreign=((FRIEND, NOT_YOURS_OR_FORBIDDEN),),
    ),
    Route("GET", "/wishlist/shared/{share_token}", ("customer",), actor=FRIEND),
    Route(
        "POST",
        "/wishlist/shared/{share_token}/items/{item_id}/reservations",
        ("customer",),
        body={"quantity": 1},
        actor=FRIEND,
        foreign=((OWNER, frozenset({403})),),
    ),
    # /referral
    Route(
        "PUT",
        "/referral/program",
        ("merchant",),
        other_shop="ok",
        body={
            "referrer_template_id": "{template_id}",
            "referee_template_id": "{template_id}",
            "min_order_amount": 0,
        },
    ),
    Route("POST", "/referral/codes", ("customer",), other_shop="ok"),
    Route("POST", "/referral/channels", ("merchant",), other_shop="ok", body={"name": "authz channel"}),
    Route("GET", "/referral/channels/{channel_id}/qr.svg", ("merchant",)),
    Route("POST", "/referral/visits", ("storefront",), body={"code": "{referral_code}", "visitor_id": "v-1"}),
    Route("POST", "/referral/signups", ("customer",), body={"code": "{referral_code}"}, actor=NEWCOMER),
    Route("GET", "/referral/me", ("customer",), other_shop="ok"),
    Route("GET", "/referral/report", ("merchant",), other_shop="ok"),
    # /audience (issue 14): the merchant's; no customer reads another customer's profile
    Route("GET", "/audience/customers/{audience_customer}", ("merchant",)),
    Route("PUT", "/audience/customers/c-tagged/tags/vip", ("merchant",), other_shop="ok"),
    Route("DELETE", "/audience/customers/c-tagged/tags/vip", ("merchant",), other_shop="ok"),
    Route("GET", "/audience/tags", ("merchant",), other_shop="ok"),
    Route("GET", "/audience/tags/vip/customers", ("merchant",), other_shop="ok"),
    Route(
        "POST",
        "/audience/tag-jobs",
        ("merchant",),
        other_shop="ok",
        body={"tag": "vip", "customer_ids": ["c-b"]},
    ),
    Route("GET", "/audience/tag-jobs/{tag_job_id}", ("merchant",)),
    Route(
        "GET", "/audience/reports/repurchase?from=2026-01-01&to=2026-12-31", ("merchant",), other_shop="ok"
    ),
    Route(
        "POST",
        "/audience/segments",
        ("merchant",),
        other_shop="ok",
        body={"name": "authz", "definition": {"tags": {"any": ["vip"]}}},
    ),
    Route("GET", "/audience/segments", ("merchant",), other_shop="ok"),
    Route("GET", "/audience/segments/{segment_id}", ("merchant",)),
    Route("POST", "/audience/segments/{segment_id}/evaluations", ("merchant",)),
    Route("GET", "/audience/segments/{segment_id}/preview", ("merchant",)),
    Route(
        "POST",
        "/audience/automations",
        ("merchant",),
        other_shop="ok",
        body={"trigger": {"type": "first_order"}, "template_id": "{template_id}"},
    ),
    Route("GET", "/audience/automations", ("merchant",), other_shop="ok"),
    Route("GET", "/audience/automations/{rule_id}", ("merchant",)),
    Route("POST", "/audience/automations/{rule_id}/runs", ("merchant",)),
    Route("GET", "/audience/automations/{rule_id}/lift?from=2026-01-01&to=2026-12-31", ("merchant",)),
)


def _ok(response: Any, what: str) -> dict[str, Any]:
    assert response.status_code in (200, 201, 202), f"setup {what}: {response!r}"
    return response.json()


def build_world(gateway: Any, auth: Any) -> dict[str, str]:
    """Resources of shop s1 that the matrix names: ids of the merchant's, the owner's and others'."""
    merchant = auth("merchant", "s1", MERCHANT)
    owner = auth("customer", "s1", OWNER)
    world: dict[str, str] = {}
    _ok(
        gateway.put(
            "/distribution/rules", {"default_rate_bps": 1000, "auto_approve": True}, headers=merchant
        ),
        "rules",
    )
    template = _ok(
        gateway.post(
            "/coupons/templates",
            {"name": "authz", "kind": "amount_off", "amount_off": 100, "total_stock": 50},
            headers=merchant,
        ),
        "template",
    )
    world["template_id"] = template["template_id"]
    world["coupon_id"] = _ok(
        gateway.post(f"/coupons/templates/{world['template_id']}/claim", headers=owner), "claim"
    )["coupon_id"]
    world["share_link_id"] = _ok(
        gateway.post(
            f"/coupons/templates/{world['template_id']}/share-links", {"channel": "authz"}, headers=merchant
        ),
        "share link",
    )["link_id"]
    giftable = _ok(
        gateway.post(
            "/coupons/templates",
            {
                "name": "authz gift",
                "kind": "amount_off",
                "amount_off": 100,
                "total_stock": 5,
                "giftable": True,
            },
            headers=merchant,
        ),
        "giftable template",
    )["template_id"]
    gifted = _ok(gateway.post(f"/coupons/templates/{giftable}/claim", headers=owner), "giftable claim")
    world["gift_id"] = _ok(gateway.post(f"/coupons/{gifted['coupon_id']}/gifts", {}, headers=owner), "gift")[
        "gift_id"
    ]
    world["invalidation_id"] = _ok(
        gateway.post(f"/coupons/templates/{giftable}/invalidations", {}, headers=merchant), "invalidation"
    )["invalidation_id"]
    world["batch_id"] = _ok(
        gateway.post(
            f"/coupons/templates/{world['template_id']}/claim-links", {"count": 1}, headers=merchant
        ),
        "claim links",
    )["batch_id"]
    world["link_token"] = f"{world['batch_id']}-0-{'a' * 26}"  # well-formed; unknown before the batch runs
    world["job_id"] = _ok(
        gateway.post(
            f"/coupons/templates/{world['template_id']}/issue-jobs",
            {"customer_ids": ["c-x"]},
            headers=merchant,
        ),
        "issue job",
    )["job_id"]
    _ok(gateway.post("/distribution/distributors", {}, headers=owner), "distributor")
    world["distributor_id"] = OWNER
    world["bound_customer"] = "c-unbound"  # never bound: 404 in s1 and s2
    world["withdrawal_id"] = "wd_authz"  # none: the owner has nothing available (404 in s1, 404 in s2)
    world["link_code"] = _ok(gateway.post("/distribution/links", {}, headers=owner), "link")["code"]
    lists = []
    for title in ("main", "spare"):
        lists.append(_ok(gateway.post("/wishlist/lists", {"title": title}, headers=owner), "list")["list_id"])
    world["list_id"], world["spare_list_id"] = lists
    item = {"product_id": "p-1", "name": "Gift", "unit_amount": 100, "quantity": 5}
    world["item_id"] = _ok(gateway.post(f"/wishlist/lists/{lists[0]}/items", item, headers=owner), "item")[
        "item_id"
    ]
    world["spare_item_id"] = _ok(
        gateway.post(f"/wishlist/lists/{lists[0]}/items", item, headers=owner), "item"
    )["item_id"]
    world["share_token"] = _ok(gateway.post(f"/wishlist/lists/{lists[0]}/share", headers=owner), "share")[
        "share_token"
    ]
    _ok(gateway.post(f"/wishlist/lists/{lists[1]}/share", headers=owner), "spare share")
    world["referral_code"] = _ok(gateway.post("/referral/codes", headers=owner), "referral code")["code"]
    world["channel_id"] = _ok(
        gateway.post("/referral/channels", {"name": "poster"}, headers=merchant), "channel"
    )["channel_id"]
    world["audience_customer"] = "c-aud-1"
    _ok(gateway.put("/audience/customers/c-aud-1/tags/vip", headers=merchant), "audience tag")
    world["tag_job_id"] = _ok(
        gateway.post("/audience/tag-jobs", {"tag": "vip", "customer_ids": ["c-aud-2"]}, headers=merchant),
        "tag job",
    )["job_id"]
    world["segment_id"] = _ok(
        gateway.post(
            "/audience/segments", {"name": "vips", "definition": {"tags": {"any": ["vip"]}}}, headers=merchant
        ),
        "segment",
    )["segment_id"]
    world["rule_id"] = _ok(
        gateway.post(
            "/audience/automations",
            {"trigger": {"type": "nth_order", "n": 2}, "template_id": world["template_id"]},
            headers=merchant,
        ),
        "automation",
    )["rule_id"]
    return world


def _fill(value: Any, world: dict[str, str]) -> Any:
    if isinstance(value, str):
        return value.format(**world)
    if isinstance(value, dict):
        return {k: _fill(v, world) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, world) for v in value]
    return value


def _code(response: Any) -> str | None:
    try:
        return response.json()["error"]["code"]
    except Exception:
        return None


def test_authorization_matrix_of_every_contract_route(gateway, auth):
    from infrastructure.dev.apps import SERVICE_NAMES, load_app

    # The table covers what the registry serves with the contract's roles.
    registry = {}
    for name in SERVICE_NAMES:
        for doc in load_app(name).api.docs:
            registry[(doc.method, f"/{name}{doc.path}")] = tuple(sorted(r.value for r in doc.roles or ()))
    drift = []
    for route in CONTRACT:
        template = (
            route.path.split("?", 1)[0]
            .replace("{spare_item_id}", "{item_id}")
            .replace("{spare_list_id}", "{list_id}")
            .replace("{share_link_id}", "{link_id}")
            .replace("{link_token}", "{token}")
            .replace("{audience_customer}", "{customer_id}")
            .replace("{tag_job_id}", "{job_id}")
            .replace("{bound_customer}", "{customer_id}")
            .replace("/statements/2026-11", "/statements/{month}")
            .replace("c-tagged/tags/vip", "{customer_id}/tags/{tag}")
            .replace("/tags/vip/customers", "/tags/{tag}/customers")
        )
        declared = registry.get((route.method, template))
        if declared != tuple(sorted(route.roles)):
            drift.append(f"{route.method} {template}: API.md {route.roles}, registry {declared}")
    assert not drift, "routes missing or with other roles than API.md:\n" + "\n".join(drift)

    world = build_world(gateway, auth)
    secrets = sorted(set(world.values()) - {OWNER}, key=len, reverse=True)
    mismatches: list[str] = []
    cells = 0

    def call(route: Route, headers: dict[str, str] | None) -> Any:
        path = _fill(route.path, world)
        body = _fill(route.body, world)
        raw = json.dumps(body).encode() if body is not None else b""
        return gateway.request(route.method, path, headers=headers or {}, body=raw)

    def expect(cond: bool, route: Route, who: str, response: Any, want: str) -> None:
        nonlocal cells
        cells += 1
        if not cond:
            mismatches.append(f"{route.method} {route.path} as {who}: want {want}, got {response!r}")

    for route in CONTRACT:
        response = call(route, {"content-type": "application/json"})
        expect(
            response.status_code == 401 and _code(response) == "unauthorized",
            route,
            "no token",
            response,
            "401 unauthorized",
        )
        for role in ROLES:
            for shop in ("s2", "s1"):  # the own shop last: an allowed call may change state
                sub = route.actor if role in route.roles and route.actor else SUBS[role]
                if shop == "s1" and role in route.roles:
                    # Someone else's resource first, while the owner's is still intact.
                    for other, allowed in route.foreign:
                        response = call(route, auth(role, shop, other))
                        expect(
                            response.status_code in allowed,
                            route,
                            f"{role} {other} (not the owner)",
                            response,
                            f"one of {sorted(allowed)}",
                        )
                response = call(route, auth(role, shop, sub))
                who = f"{role} {sub} of {shop}"
                if role not in route.roles:
                    expect(
                        response.status_code == 403 and _code(response) == "forbidden",
                        route,
                        who,
                        response,
                        "403 forbidden",
                    )
                    continue
                status = response.status_code
                if shop == "s2" and route.other_shop == "403":
                    expect(
                        status == 403 and _code(response) == "forbidden",
                        route,
                        who,
                        response,
                        "403 forbidden (not qualified in this shop)",
                    )
                    continue
                expect(
                    status not in (401, 403) and status < 500,
                    route,
                    who,
                    response,
                    "allowed (not 401/403/5xx)",
                )
                if shop == "s2":
                    if route.other_shop == "404":
                        expect(
                            status == 404 and _code(response) == "not_found",
                            route,
                            who,
                            response,
                            "404 not_found for a resource of s1",
                        )
                    if 200 <= status < 300:
                        text = response.content.decode(errors="replace")
                        leaked = [s for s in secrets if s in text]
                        expect(not leaked, route, who, response, f"no id of s1 in the body (found {leaked})")

    print(f"\nauthz matrix: {len(CONTRACT)} routes, {cells} cells asserted, {len(mismatches)} mismatches")
    assert not mismatches, f"{len(mismatches)} authorization mismatches:\n" + "\n".join(mismatches)
