"""``campaign local`` honours the CORS origins of the campaign definition it runs (``dev`` by
default) and serves the docs page with its own Swagger UI files, over real HTTP."""

from __future__ import annotations

import json

import pytest

from infrastructure.campaign_def import load

pytestmark = pytest.mark.e2e


def test_the_local_stack_grants_the_dev_definitions_origins_and_no_other(stack_url, http) -> None:
    origins = load("dev")[0].cors.allow_origins
    assert "http://localhost:3000" in origins
    for origin in origins:
        answer = http.options(
            f"{stack_url}/coupons/templates",
            headers={
                "Origin": origin,
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "authorization, content-type, idempotency-key",
            },
        )
        assert answer.status_code == 204
        assert answer.headers["Access-Control-Allow-Origin"] == origin
        assert "POST" in answer.headers["Access-Control-Allow-Methods"]
        assert "Idempotency-Key" in answer.headers["Access-Control-Allow-Headers"]
        got = http.get(f"{stack_url}/coupons/health", headers={"Origin": origin})
        assert got.headers["Access-Control-Allow-Origin"] == origin
        assert "X-Request-Units" in got.headers["Access-Control-Expose-Headers"]
    stranger = http.options(
        f"{stack_url}/coupons/templates",
        headers={"Origin": "https://evil.example.com", "Access-Control-Request-Method": "POST"},
    )
    assert stranger.status_code == 204 and "Access-Control-Allow-Origin" not in stranger.headers
    assert stranger.headers["Vary"] == "Origin"


def test_the_local_stack_serves_the_docs_page_and_its_assets_without_a_cdn(stack_url, http) -> None:
    page = http.get(f"{stack_url}/docs")
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    assert 'src="/docs/assets/swagger-ui-bundle.js"' in page.text
    assert 'url: "/openapi.json"' in page.text and "https://" not in page.text
    script = http.get(f"{stack_url}/docs/assets/swagger-ui-bundle.js")
    assert script.status_code == 200 and "SwaggerUIBundle" in script.text
    assert script.headers["Content-Type"].startswith("application/javascript")
    assert http.get(f"{stack_url}/docs/assets/swagger-ui.css").status_code == 200
    document = http.get(f"{stack_url}/openapi.json")
    assert json.loads(document.content)["openapi"].startswith("3.")
    missing = http.get(f"{stack_url}/docs/assets/nothing.js")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
