"""A Python client generated from the OpenAPI document (``openapi-python-client``, offline)
works against the local gateway: its calls are named by the operationIds, its request models
take the documented examples, and its answers parse into the documented models, 409s included.

The client is generated once for the module; its HTTP goes through the gateway's routing
in-process (an httpx transport over ``Gateway.dispatch``), like the ``gateway`` fixture."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import httpx
import pytest

from infrastructure.dev.apps import SERVICE_NAMES, load_app
from infrastructure.dev.examples import EXAMPLES
from infrastructure.dev.openapi import document

PACKAGE = "campaign_generated_client"
BASE_URL = "http://gateway.test"


def _document() -> dict[str, Any]:
    return document([(name, load_app(name).api.docs) for name in SERVICE_NAMES])


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModuleType]:
    """The generated package, imported (generation takes about two seconds)."""
    root = tmp_path_factory.mktemp("client")
    spec = root / "openapi.json"
    spec.write_text(json.dumps(_document()), encoding="utf-8")
    config = root / "config.json"
    config.write_text(
        json.dumps(
            {
                "package_name_override": PACKAGE,
                "project_name_override": PACKAGE,
                "post_hooks": [],  # no formatter run: the code is imported, not read
                # QR codes: bytes to the client (it has no image/* parser).
                "content_type_overrides": {
                    "image/png": "application/octet-stream",
                    "image/svg+xml": "application/octet-stream",
                },
            }
        ),
        encoding="utf-8",
    )
    out = root / PACKAGE
    run = subprocess.run(
        [sys.executable, "-m", "openapi_python_client", "generate", "--path", str(spec)]
        + ["--config", str(config), "--meta", "none", "--output-path", str(out)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "WARNING" not in run.stdout + run.stderr, run.stdout + run.stderr
    sys.path.insert(0, str(root))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(root))
        for name in [m for m in sys.modules if m == PACKAGE or m.startswith(PACKAGE + ".")]:
            del sys.modules[name]


class GatewayTransport(httpx.BaseTransport):
    """httpx over the local gateway's routing, without sockets."""

    def __init__(self, gateway: Any) -> None:
        self.gateway = gateway

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in request.headers.raw}
        status, out, body = self.gateway.dispatch(
            request.method, request.url.raw_path.decode("ascii"), headers, request.read()
        )
        return httpx.Response(status, headers=out, content=body)


def _api(package: ModuleType, operation_id: str) -> Any:
    service = operation_id.split("_", 1)[0]
    return importlib.import_module(f"{package.__name__}.api.{service}.{operation_id}")


def _model(package: ModuleType, name: str) -> Any:
    return getattr(importlib.import_module(f"{package.__name__}.models"), name)


@pytest.fixture
def client_for(generated, gateway, token):
    def make(role: str, shop: str = "s1", sub: str = "u1") -> Any:
        return generated.AuthenticatedClient(
            base_url=BASE_URL,
            token=token(role, shop, sub),
            httpx_args={"transport": GatewayTransport(gateway.gateway)},
        )

    return make


def test_the_client_is_generated_from_the_served_document(gateway, generated):
    served = gateway.get("/openapi.json").json()
    assert served == _document()
    assert hasattr(generated, "AuthenticatedClient")
    # Every operation is a module of the client, named by its operationId.
    for ops in served["paths"].values():
        for op in ops.values():
            assert _api(generated, op["operationId"]).sync_detailed


def test_a_merchant_creates_a_template_and_a_customer_claims_it(generated, client_for, gateway):
    merchant, customer = client_for("merchant", sub="m1"), client_for("customer", sub="c-2024")
    template_in = _model(generated, "TemplateIn").from_dict(EXAMPLES["coupons_create_template"])

    created = _api(generated, "coupons_create_template").sync_detailed(
        client=merchant, body=template_in, idempotency_key="create-double11"
    )
    assert created.status_code == 201, created.content
    template = created.parsed
    assert type(template).__name__ == "TemplateOut"
    assert template.name == EXAMPLES["coupons_create_template"]["name"]
    assert template.amount_off == 2000 and template.total_stock == 100000
    # The documented Idempotency-Key parameter: the same key and body answer the first template.
    again = _api(generated, "coupons_create_template").sync_detailed(
        client=merchant, body=template_in, idempotency_key="create-double11"
    )
    assert again.status_code == 201
    assert again.parsed.template_id == template.template_id
    assert again.headers["idempotent-replayed"] == "true"

    claim = _api(generated, "coupons_claim")
    claimed = claim.sync_detailed(template.template_id, client=customer)
    assert claimed.status_code == 201, claimed.content
    coupon = claimed.parsed
    assert type(coupon).__name__ == "CouponOut"
    assert coupon.template_id == template.template_id and coupon.amount_off == 2000

    # per_customer_limit is 1: the second claim is a 409 whose code the document lists.
    refused = claim.sync_detailed(template.template_id, client=customer)
    assert refused.status_code == 409
    assert type(refused.parsed).__name__ == "Error"
    assert refused.parsed.error.code == "per_customer_limit_reached"
    documented = gateway.get("/openapi.json").json()["paths"]["/coupons/templates/{template_id}/claim"]
    assert refused.parsed.error.code in documented["post"]["responses"]["409"]["x-error-codes"]

    mine = _api(generated, "coupons_my_coupons").sync(client=customer)
    assert [c.coupon_id for c in mine.items] == [coupon.coupon_id]
    seen = _api(generated, "coupons_get_template").sync(template.template_id, client=merchant)
    assert seen.issued_count == 1 and seen.remaining_stock == 100000 - 1

    # A customer may not create templates: 403 parses into the error model as well.
    forbidden = _api(generated, "coupons_create_template").sync_detailed(client=customer, body=template_in)
    assert forbidden.status_code == 403 and forbidden.parsed.error.code == "forbidden"


def test_a_customer_keeps_a_wishlist_through_the_client(generated, client_for):
    customer = client_for("customer", sub="c-3101")
    made = _api(generated, "wishlist_create_list").sync_detailed(
        client=customer, body=_model(generated, "ListIn").from_dict(EXAMPLES["wishlist_create_list"])
    )
    assert made.status_code == 201, made.content
    wishlist = made.parsed
    added = _api(generated, "wishlist_add_item").sync_detailed(
        wishlist.list_id,
        client=customer,
        body=_model(generated, "ItemIn").from_dict(EXAMPLES["wishlist_add_item"]),
    )
    assert added.status_code == 201, added.content
    shown = _api(generated, "wishlist_get_list").sync(wishlist.list_id, client=customer)
    assert shown.title == "Birthday wishes"
    assert [(i.product_id, i.quantity) for i in shown.items] == [("sku-serum-30ml", 1)]
    listed = _api(generated, "wishlist_list_lists").sync(client=customer)
    assert [w.list_id for w in listed.items] == [wishlist.list_id]
