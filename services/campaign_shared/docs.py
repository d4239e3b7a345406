"""The API docs: the OpenAPI document and a Swagger UI page whose assets are served with it
(never from a CDN), answered the same way by the local gateway and by the deployed docs
function of a campaign's shared stack (``lambda_handler``; ``campaign package`` puts the
document generated at package time and the assets next to this module in its code zip).

Layout of a docs folder: ``openapi.json`` and ``assets/<ASSETS>``. Routes, relative to where
the docs are mounted (``base``): ``base`` (the page), ``base + openapi.json``,
``base + assets/<name>``.
"""

from __future__ import annotations

import html
import os
from pathlib import Path
from typing import Any

# Swagger UI's files the page needs, and their content types.
ASSETS = {
    "swagger-ui-bundle.js": "application/javascript; charset=utf-8",
    "swagger-ui.css": "text/css; charset=utf-8",
}
PAGE = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>{title}</title>
  <link rel="stylesheet" href="{assets}swagger-ui.css">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="{assets}swagger-ui-bundle.js"></script>
  <script>
    window.ui = SwaggerUIBundle({{url: "{openapi}", dom_id: "#swagger-ui", deepLinking: true}});
  </script>
</body>
</html>
"""
Answer = tuple[int, dict[str, str], bytes]


def page(openapi_url: str, assets_url: str, title: str = "Campaign services API") -> bytes:
    """The docs page: Swagger UI over ``openapi_url``, its files under ``assets_url``."""
    text = PAGE.format(
        title=html.escape(title),
        assets=html.escape(assets_url, quote=True),
        openapi=html.escape(openapi_url, quote=True),
    )
    return text.encode()


def installed_assets() -> Path:
    """Swagger UI's files as installed with the project (``swagger-ui-py``): used by the local
    gateway and by ``campaign package``; never on Lambda, where they are in the code zip."""
    import importlib.util

    spec = importlib.util.find_spec("swagger_ui")
    if spec is None or spec.origin is None:
        raise FileNotFoundError("swagger-ui-py is not installed: run `make install`")
    return Path(spec.origin).parent / "static"


def answer(
    relative: str, base: str, assets: Path, openapi: bytes | None = None, openapi_url: str | None = None
) -> Answer | None:
    """The answer to ``GET base + relative`` (``relative`` without a leading slash: ``""`` is
    the page); None when it is not a docs route. ``openapi``: the document's bytes (else read
    from beside ``assets``)."""
    cache = {"Cache-Control": "public, max-age=300"}
    if relative in ("", "index.html"):
        body = page(openapi_url or f"{base}openapi.json", f"{base}assets/")
        return 200, {"Content-Type": "text/html; charset=utf-8", **cache}, body
    if relative == "openapi.json":
        data = openapi if openapi is not None else (assets.parent / "openapi.json").read_bytes()
        return 200, {"Content-Type": "application/json", **cache}, data
    name = relative.removeprefix("assets/")
    if relative.startswith("assets/") and name in ASSETS:
        return 200, {"Content-Type": ASSETS[name], **cache}, (assets / name).read_bytes()
    return None


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """The deployed docs function behind its own API (API Gateway proxy events)."""
    folder = Path(os.environ.get("LAMBDA_TASK_ROOT", ".")) / "docs"
    path = event.get("path") or "/"
    seen = (event.get("requestContext") or {}).get("path") or path
    prefix = seen[: len(seen) - len(path)] if seen.endswith(path) else seen.rstrip("/")
    base = prefix.rstrip("/") + "/"
    found = answer(path.lstrip("/"), base, folder / "assets") if event.get("httpMethod") == "GET" else None
    if found is None:
        request_id = (event.get("requestContext") or {}).get("requestId", "")
        body = (
            '{"error": {"code": "not_found", "message": "no such docs page", "request_id": "'
            + str(request_id)
            + '"}}'
        ).encode()
        found = 404, {"Content-Type": "application/json"}, body
    status, headers, data = found
    # Every docs file is text (HTML, JSON, JavaScript, CSS): no binary media types needed.
    return {"statusCode": status, "headers": headers, "body": data.decode("utf-8"), "isBase64Encoded": False}
