"""``campaign_shared.cors``: who gets a grant, for what, and the origins' setting."""

from __future__ import annotations

from campaign_shared import cors
from campaign_shared.settings import Settings

ORIGINS = ("https://shop.example.com", "http://localhost:3000")


def test_origins_are_read_from_the_environment_and_match_exactly() -> None:
    env = {
        "CAMPAIGN_CORS_ALLOW_ORIGINS": "https://shop.example.com, http://localhost:3000/",
        "CAMPAIGN_CORS_MAX_AGE": "60",
    }
    settings = Settings.from_env(env)
    assert settings.cors_allow_origins == ORIGINS and settings.cors_max_age == 60
    assert Settings.from_env({}).cors_allow_origins == ()
    assert cors.allowed_origin(ORIGINS, {"Origin": "http://localhost:3000"}) == "http://localhost:3000"
    for other in ("http://localhost:3001", "https://shop.example.com.evil.com", "null", "*"):
        assert cors.allowed_origin(ORIGINS, {"origin": other}) is None
    assert cors.allowed_origin(ORIGINS, {}) is None


def test_a_preflight_is_granted_only_for_an_allowed_origin_and_one_of_the_routes_methods() -> None:
    asked = {"origin": "https://shop.example.com", "access-control-request-method": "patch"}
    granted = cors.preflight_headers(ORIGINS, asked, ["GET", "PATCH"], 120)
    assert granted == {
        "Allow": "GET, OPTIONS, PATCH",
        "Vary": "Origin",
        "Access-Control-Allow-Origin": "https://shop.example.com",
        "Access-Control-Allow-Methods": "GET, OPTIONS, PATCH",
        "Access-Control-Allow-Headers": ", ".join(cors.ALLOW_HEADERS),
        "Access-Control-Max-Age": "120",
    }
    refused = cors.preflight_headers(
        ORIGINS, {**asked, "access-control-request-method": "DELETE"}, ["GET"], 1
    )
    assert refused == {"Allow": "GET, OPTIONS", "Vary": "Origin"}
    assert cors.preflight_headers((), asked, ["GET"], 1) == {"Allow": "GET, OPTIONS"}
    # a plain OPTIONS (no Origin): the methods only
    assert cors.preflight_headers(ORIGINS, {}, ["GET"], 1) == {"Allow": "GET, OPTIONS", "Vary": "Origin"}


def test_answers_expose_what_clients_read_to_allowed_origins_only() -> None:
    granted = cors.response_headers(ORIGINS, {"Origin": "https://shop.example.com"})
    assert granted["Access-Control-Allow-Origin"] == "https://shop.example.com"
    exposed = granted["Access-Control-Expose-Headers"].split(", ")
    assert {"X-Request-Id", "X-Request-Units", "Retry-After", "Idempotent-Replayed"} <= set(exposed)
    assert cors.response_headers(ORIGINS, {"Origin": "https://evil.example.com"}) == {"Vary": "Origin"}
    assert cors.response_headers((), {"Origin": "https://shop.example.com"}) == {}
