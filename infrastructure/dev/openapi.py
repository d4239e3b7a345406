"""One OpenAPI 3.1 document for every route, generated from the route registry and the
pydantic models (never written by hand)."""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, TypeAdapter

from campaign_shared.api import RouteDoc
from campaign_shared.types import ID_PATTERN
from infrastructure.dev import conflicts
from infrastructure.dev.examples import EXAMPLES

_STATUS_TEXT = {
    200: "OK",
    201: "Created",
    202: "Accepted",
    204: "No Content",
    400: "Invalid request",
    401: "Missing or invalid token",
    403: "Role not allowed",
    404: "Not found",
    409: "Conflict",
    413: "Payload too large",
    503: "Dependency unavailable; retry after Retry-After",
}

ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {
                "code": {"type": "string", "pattern": "^[a-z][a-z0-9_]*$"},
                "message": {"type": "string"},
                "details": {"type": "array", "items": {}},
                "param": {
                    "type": "string",
                    "description": "On a 400: the first input refused (a field, a dotted path, or body).",
                },
                "request_id": {
                    "type": "string",
                    "description": "The request's id, also in X-Request-Id: quote it in a report.",
                },
            },
        }
    },
}


def _schema(model: Any, components: dict[str, Any]) -> dict[str, Any]:
    if model is None:
        return {}
    if isinstance(model, type) and issubclass(model, BaseModel):
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}", mode="serialization")
    else:
        schema = TypeAdapter(model).json_schema(
            ref_template="#/components/schemas/{model}", mode="serialization"
        )
    for name, definition in schema.pop("$defs", {}).items():
        components.setdefault(name, definition)
    if isinstance(model, type) and issubclass(model, BaseModel):
        components.setdefault(model.__name__, schema)
        return {"$ref": f"#/components/schemas/{model.__name__}"}
    return schema


def _input_schema(model: type[BaseModel], components: dict[str, Any]) -> dict[str, Any]:
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}", mode="validation")
    for name, definition in schema.pop("$defs", {}).items():
        components.setdefault(name, definition)
    name = f"{model.__name__}Input" if model.__name__ in components else model.__name__
    components.setdefault(name, schema)
    return {"$ref": f"#/components/schemas/{name}"}


# Headers every answer carries, and those of some answers (documented on the responses).
_HEADERS: dict[str, dict[str, Any]] = {
    "X-Request-Id": {
        "description": "The request's id (also in an error's request_id).",
        "schema": {"type": "string"},
    },
    "X-Correlation-Id": {
        "description": "The caller's X-Correlation-Id, else the request id: follows the request into logs.",
        "schema": {"type": "string"},
    },
    "X-Request-Units": {
        "description": "DynamoDB capacity the request used: 'read=<units>;write=<units>;calls=<n>'.",
        "schema": {"type": "string"},
    },
}
_RETRY_AFTER = {"description": "Seconds to wait before retrying.", "schema": {"type": "integer"}}
_REPLAYED = {
    "description": "'true': the stored answer of an earlier request with this Idempotency-Key.",
    "schema": {"type": "string", "enum": ["true"]},
}


def _operation_id(prefix: str, doc: RouteDoc, taken: set[str]) -> str:
    """``<service>_<handler>`` (``coupons_create_template``): what a generated client names the
    call. A handler serving two methods gets the method too."""
    slug = re.sub(r"[^a-z0-9]+", "_", doc.path.lower()).strip("_")
    handler = doc.name.strip("_")  # ``_health`` reads ``coupons_health``, as a client names it
    name = f"{prefix}_{handler}" if handler else f"{prefix}_{doc.method.lower()}_{slug}"
    if name in taken:
        name = f"{name}_{doc.method.lower()}"
    taken.add(name)
    return name


def operations(mounts: list[tuple[str, list[RouteDoc]]]) -> list[tuple[str, str, RouteDoc]]:
    """``(service, operationId, route)`` of every mounted route, in the document's order."""
    taken: set[str] = set()
    return [(prefix, _operation_id(prefix, doc, taken), doc) for prefix, docs in mounts for doc in docs]


def _conflict(codes: tuple[str, ...]) -> dict[str, Any]:
    """The 409 of a route: its codes in the description, as ``x-error-codes``, and one
    example answer per code."""
    lines = [f"- `{code}`: {conflicts.MEANINGS.get(code, code.replace('_', ' '))}" for code in codes]
    headers = dict(_HEADERS)
    if "request_in_progress" in codes:
        headers["Retry-After"] = _RETRY_AFTER
    examples = {
        code: {
            "summary": code,
            "value": {"error": {"code": code, "message": conflicts.MEANINGS.get(code, code)}},
        }
        for code in codes
    }
    return {
        "description": "Conflict: the error's `code` is one of\n\n" + "\n".join(lines),
        "headers": headers,
        "x-error-codes": list(codes),
        "content": {
            "application/json": {"schema": {"$ref": "#/components/schemas/Error"}, "examples": examples}
        },
    }


def _description(doc: RouteDoc) -> str:
    """The handler's docstring when it says more than the summary, then who may call it."""
    text = doc.description if doc.description and doc.description != doc.summary else doc.summary
    if doc.roles is None:
        who = "No token needed."
    else:
        who = "Roles: " + ", ".join(r.value for r in doc.roles) + "."
    return f"{text}\n\n{who}".strip()


def document(
    mounts: list[tuple[str, list[RouteDoc]]],
    title: str = "Campaign services",
    servers: list[str] | None = None,
) -> dict[str, Any]:
    """The OpenAPI document of the mounted services; ``servers``: the base URLs it is served
    at (the local gateway's, a campaign stack's API), else the same origin."""
    components: dict[str, Any] = {"Error": ERROR_SCHEMA}
    paths: dict[str, Any] = {}
    for prefix, operation_id, doc in operations(mounts):
        full = f"/{prefix}{doc.path}"
        op: dict[str, Any] = {
            "operationId": operation_id,
            "summary": doc.summary,
            "description": _description(doc),
            "tags": [prefix],
            "parameters": [],
            "responses": {},
        }
        if doc.roles is not None:
            op["security"] = [{"bearer": []}]
            op["x-roles"] = [r.value for r in doc.roles]
        else:
            op["security"] = []
        for name in re.findall(r"{([^}]+)}", doc.path):
            op["parameters"].append(
                {
                    "name": name,
                    "in": "path",
                    "required": True,
                    "schema": {"type": "string", "pattern": ID_PATTERN},
                }
            )
        if doc.query is not None:
            qschema = doc.query.model_json_schema()
            required = set(qschema.get("required", []))
            for name, prop in qschema.get("properties", {}).items():
                op["parameters"].append(
                    {"name": name, "in": "query", "required": name in required, "schema": prop}
                )
        if doc.method == "POST":
            op["parameters"].append(
                {
                    "name": "Idempotency-Key",
                    "in": "header",
                    "required": False,
                    "schema": {"type": "string"},
                }
            )
        if doc.body is not None:
            media: dict[str, Any] = {"schema": _input_schema(doc.body, components)}
            if operation_id in EXAMPLES:
                media["example"] = EXAMPLES[operation_id]
            op["requestBody"] = {"required": True, "content": {"application/json": media}}
        success: dict[str, Any] = {
            "description": _STATUS_TEXT.get(doc.status, "OK"),
            "headers": dict(_HEADERS),
        }
        if doc.method in ("POST", "PATCH"):
            success["headers"]["Idempotent-Replayed"] = _REPLAYED
        if doc.status != 204 and doc.response is not None:
            success["content"] = {doc.content_type: {"schema": _schema(doc.response, components)}}
        elif doc.content_type != "application/json":
            success["content"] = {doc.content_type: {"schema": {"type": "string"}}}
        op["responses"][str(doc.status)] = success
        conflict_codes = conflicts.codes_of(operation_id, doc.method, doc.roles is not None)
        codes = set(doc.errors) | {400}
        if doc.roles is not None:
            codes |= {401, 403}
        if doc.method == "POST":
            codes |= {413}
        if conflict_codes:
            codes |= {409}
        codes |= {503}
        for code in sorted(codes):
            if code == 409 and conflict_codes:
                op["responses"]["409"] = _conflict(conflict_codes)
                continue
            headers = dict(_HEADERS)
            if code in (429, 503):
                headers["Retry-After"] = _RETRY_AFTER
            if code == 401:
                headers["WWW-Authenticate"] = {
                    "description": 'Bearer realm="campaign" (error="invalid_token": a token was sent).',
                    "schema": {"type": "string"},
                }
            op["responses"][str(code)] = {
                "description": _STATUS_TEXT.get(code, "Error"),
                "headers": headers,
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
            }
        paths.setdefault(full, {})[doc.method.lower()] = op
    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": "1.0.0"},
        "servers": [{"url": url} for url in servers] if servers else [{"url": "/"}],
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
        },
    }
