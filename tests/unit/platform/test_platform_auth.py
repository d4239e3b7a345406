from __future__ import annotations

import time

import jwt
import pytest

from campaign_shared.auth import Role, decode_bearer, mint
from campaign_shared.errors import Unauthorized

SECRET = "unit-secret-0123456789"


def test_minted_token_round_trips():
    token = mint(role="merchant", shop="s1", sub="m1", secret=SECRET)
    principal = decode_bearer(f"Bearer {token}", SECRET)
    assert (principal.sub, principal.shop, principal.role) == ("m1", "s1", Role.merchant)


@pytest.mark.parametrize(
    "header",
    [None, "", "Bearer", "Bearer ", "Basic abc", "Bearer not-a-jwt", "bearer a.b.c"],
)
def test_malformed_headers_are_401(header):
    with pytest.raises(Unauthorized):
        decode_bearer(header, SECRET)


def test_expired_token_is_401():
    token = jwt.encode({"sub": "a", "shop": "s", "role": "customer", "exp": int(time.time()) - 5}, SECRET)
    with pytest.raises(Unauthorized, match="expired"):
        decode_bearer(f"Bearer {token}", SECRET)


def test_token_signed_with_another_secret_is_401():
    token = mint(role="customer", shop="s1", sub="c1", secret="another-secret-xyz")
    with pytest.raises(Unauthorized):
        decode_bearer(f"Bearer {token}", SECRET)


def test_unknown_role_and_missing_claims_are_401():
    exp = int(time.time()) + 60
    unknown = jwt.encode({"sub": "a", "shop": "s", "role": "admin", "exp": exp}, SECRET)
    missing_shop = jwt.encode({"sub": "a", "role": "customer", "exp": exp}, SECRET)
    for token in (unknown, missing_shop):
        with pytest.raises(Unauthorized):
            decode_bearer(f"Bearer {token}", SECRET)


def test_alg_none_is_refused():
    token = jwt.encode(
        {"sub": "a", "shop": "s", "role": "merchant", "exp": int(time.time()) + 60}, None, algorithm="none"
    )
    with pytest.raises(Unauthorized):
        decode_bearer(f"Bearer {token}", SECRET)


def test_mint_refuses_unknown_role():
    with pytest.raises(ValueError):
        mint(role="admin", shop="s1", sub="x", secret=SECRET)


def test_a_token_verified_once_is_refused_once_it_expires(monkeypatch):
    from campaign_shared import auth

    token = mint(role="customer", shop="s1", sub="c1", secret=SECRET, ttl_seconds=60)
    header = f"Bearer {token}"
    assert decode_bearer(header, SECRET).sub == "c1"
    assert decode_bearer(header, SECRET).sub == "c1"  # the cached verification
    now = time.time()
    monkeypatch.setattr(auth.time, "time", lambda: now + 61)
    with pytest.raises(Unauthorized, match="token expired"):
        decode_bearer(header, SECRET)
    with pytest.raises(Unauthorized):  # a verification is per secret: another secret refuses it
        decode_bearer(header, "another-secret-0123456789")
