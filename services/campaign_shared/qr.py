"""QR codes of public URLs (referral channels, coupon share links), by segno (a maintained QR
encoder; nothing home-made).

Error correction level M (15% of the symbol may be damaged: a printed poster or a counter
sticker survives some wear), a quiet zone of 4 modules by default as ISO/IEC 18004 asks.
"""

from __future__ import annotations

import functools
import io
from typing import Any

from pydantic import Field

from campaign_shared.types import Query


class QrQuery(Query):
    """``?scale=`` pixels per module (1..40, default 8), ``?border=`` quiet zone in modules."""

    scale: int = Field(default=8, ge=1, le=40)
    border: int = Field(default=4, ge=0, le=16)


# A channel's URL never changes, and one poster's QR is fetched again and again: an encoded
# image is a pure function of (data, scale, border), kept for the last few hundred asked.
CACHE_SIZE = 256


def _symbol(data: str):  # type: ignore[no-untyped-def]
    import segno

    return segno.make(data, error="m", micro=False, boost_error=False)


@functools.lru_cache(maxsize=CACHE_SIZE)
def svg(data: str, *, scale: int = 8, border: int = 4) -> str:
    buffer = io.BytesIO()
    _symbol(data).save(
        buffer, kind="svg", scale=scale, border=border, dark="#000", light="#fff", xmldecl=True
    )
    return buffer.getvalue().decode("utf-8")


@functools.lru_cache(maxsize=CACHE_SIZE)
def png(data: str, *, scale: int = 8, border: int = 4) -> bytes:
    buffer = io.BytesIO()
    _symbol(data).save(buffer, kind="png", scale=scale, border=border, dark="#000", light="#fff")
    return buffer.getvalue()


def image(data: str, kind: str, query: QrQuery) -> tuple[str | bytes, str]:
    """The QR code of ``data`` as ``kind`` (``png`` or ``svg``): (body, content type)."""
    if kind == "png":
        return png(data, scale=query.scale, border=query.border), "image/png"
    return svg(data, scale=query.scale, border=query.border), "image/svg+xml"


def response(body: str | bytes, content_type: str) -> Any:
    """An image answer a browser or a printer may keep for five minutes (the caller's own)."""
    from chalice import Response

    return Response(
        body=body,
        status_code=200,
        headers={"Content-Type": content_type, "Cache-Control": "private, max-age=300"},
    )
