"""A channel's QR image is encoded once per (url, scale, border) and then served from memory."""

from __future__ import annotations

from infrastructure.dev.apps import load_app

load_app("referral")  # the service folder is the Lambda task root: chalicelib.referral is importable

from campaign_shared import qr  # noqa: E402


def test_an_encoded_qr_is_served_again_without_encoding() -> None:
    qr.svg.cache_clear()
    first = qr.svg("https://shop.example/r/s1/CODE1", scale=4, border=4)
    again = qr.svg("https://shop.example/r/s1/CODE1", scale=4, border=4)
    other = qr.svg("https://shop.example/r/s1/CODE2", scale=4, border=4)
    assert again is first and other != first and first.startswith("<?xml")
    info = qr.svg.cache_info()
    assert (info.hits, info.misses) == (1, 2)
