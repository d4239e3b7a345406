"""The OpenAPI document is valid OpenAPI 3.1 and reads well for a generated client: an
operationId per handler (``coupons_create_template``), a description of each operation with
who may call it, the headers every answer carries, and ``servers``."""

from __future__ import annotations

import re

from openapi_spec_validator import validate


def test_the_document_validates_and_names_every_operation_once(gateway):
    doc = gateway.get("/openapi.json").json()
    validate(doc)
    assert doc["servers"] == [{"url": "/"}]
    ids = [op["operationId"] for ops in doc["paths"].values() for op in ops.values()]
    assert len(ids) == len(set(ids))
    assert all(re.fullmatch(r"[a-z]+(_[a-z0-9]+)+", i) for i in ids), ids
    create = doc["paths"]["/coupons/templates"]["post"]
    assert create["operationId"] == "coupons_create_template"
    assert create["description"].endswith("Roles: merchant.")
    health = doc["paths"]["/coupons/health"]["get"]
    assert health["operationId"] == "coupons_health"
    assert health["description"].endswith("No token needed.")


def test_every_answer_documents_its_headers(gateway):
    doc = gateway.get("/openapi.json").json()
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            for status, response in op["responses"].items():
                headers = response.get("headers", {})
                assert {"X-Request-Id", "X-Correlation-Id", "X-Request-Units"} <= set(headers), (path, status)
                if status in ("429", "503"):
                    assert "Retry-After" in headers, (path, method, status)
                if status == "401":
                    assert "WWW-Authenticate" in headers
            if method == "post":
                success = next(r for s, r in op["responses"].items() if s.startswith("2"))
                assert "Idempotent-Replayed" in success["headers"], (path, method)
    error = doc["components"]["schemas"]["Error"]["properties"]["error"]["properties"]
    assert {"param", "request_id"} <= set(error)
