"""The content of the OpenAPI document that the code cannot produce on its own: an example of
every request body (``infrastructure/dev/examples.py``) and the 409 codes of every route
(``infrastructure/dev/conflicts.py``), both keyed by operationId.

A new route with a body and no example, a wrong example, a route declaring 409 without its
codes, or a ``Conflict`` code raised in a service and documented nowhere fails here, with a
message naming the operation or the place in the source."""

from __future__ import annotations

import ast
import json
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from pydantic import ValidationError

from campaign_shared.api import RouteDoc
from infrastructure.dev import conflicts
from infrastructure.dev.apps import SERVICE_NAMES, load_app
from infrastructure.dev.examples import EXAMPLES
from infrastructure.dev.openapi import document, operations

ROOT = Path(__file__).resolve().parents[3]
SERVICES = ROOT / "services"
SHARED = "campaign_shared"


@cache
def _mounts() -> list[tuple[str, list[RouteDoc]]]:
    return [(name, load_app(name).api.docs) for name in SERVICE_NAMES]


@cache
def _document() -> dict[str, Any]:
    return document(_mounts())


def _operations() -> list[tuple[str, str, RouteDoc]]:
    return operations(_mounts())


def _op(operation_id: str) -> dict[str, Any]:
    for ops in _document()["paths"].values():
        for op in ops.values():
            if op["operationId"] == operation_id:
                return op
    raise KeyError(operation_id)


def _resolving_schema(ref: str) -> dict[str, Any]:
    """The component schema ``ref`` with the document's components beside it, so that its
    ``$ref``s resolve."""
    return {"$ref": ref, "components": _document()["components"]}


# ---- examples ------------------------------------------------------------------------------


def test_every_operation_with_a_body_has_an_example():
    missing = [op_id for _, op_id, doc in _operations() if doc.body is not None and op_id not in EXAMPLES]
    assert not missing, (
        f"operations with a request body but no example: {missing}; "
        "add one to EXAMPLES in infrastructure/dev/examples.py"
    )


def test_every_example_belongs_to_an_operation_with_a_body():
    with_body = {op_id for _, op_id, doc in _operations() if doc.body is not None}
    stale = sorted(set(EXAMPLES) - with_body)
    assert not stale, f"examples of no operation with a body (renamed or removed?): {stale}"


@pytest.mark.parametrize("operation_id", sorted(EXAMPLES))
def test_the_example_is_accepted_by_the_route_model_and_schema(operation_id):
    doc = next((d for _, op_id, d in _operations() if op_id == operation_id), None)
    assert doc is not None and doc.body is not None, f"{operation_id}: no such operation with a body"
    example = EXAMPLES[operation_id]
    # As the route parses it: JSON text, then the model (its validators included).
    try:
        doc.body.model_validate(json.loads(json.dumps(example)))
    except ValidationError as exc:
        pytest.fail(f"{operation_id}: the example is refused by {doc.body.__name__}: {exc}")
    # As a client reads it: the document's schema of the body, and the example shown with it.
    media = _op(operation_id)["requestBody"]["content"]["application/json"]
    assert media["example"] == example, operation_id
    try:
        jsonschema.validate(example, _resolving_schema(media["schema"]["$ref"]))
    except jsonschema.ValidationError as exc:
        pytest.fail(f"{operation_id}: the example does not match its schema: {exc.message}")


def test_a_wrong_example_would_be_refused():
    """The check above has teeth: a misspelt field and a float amount are refused."""
    doc = next(d for _, op_id, d in _operations() if op_id == "coupons_create_template")
    wrong = {**EXAMPLES["coupons_create_template"], "amount_of": 2000}
    with pytest.raises(ValidationError):
        doc.body.model_validate(wrong)
    ref = _op("coupons_create_template")["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(
            {**EXAMPLES["coupons_create_template"], "amount_off": 20.5}, _resolving_schema(ref)
        )


# ---- 409 codes -----------------------------------------------------------------------------


def _service_of(path: Path) -> str:
    return path.relative_to(SERVICES).parts[0]


def _conflict_classes(trees: dict[Path, ast.Module]) -> set[str]:
    """``Conflict`` and every class deriving from it (``SignupRefused``)."""
    names = {"Conflict"}
    grew = True
    while grew:
        grew = False
        for tree in trees.values():
            for node in ast.walk(tree):
                if isinstance(node, ast.ClassDef) and node.name not in names:
                    bases = {b.id if isinstance(b, ast.Name) else getattr(b, "attr", "") for b in node.bases}
                    if bases & names:
                        names.add(node.name)
                        grew = True
    return names


@cache
def _raised() -> tuple[dict[str, set[str]], dict[str, tuple[str, str]]]:
    """``({service: codes}, {place: (service, source of the code)})``: the literal codes of
    every ``Conflict`` built in the source, and the places that compute theirs."""
    trees = {p: ast.parse(p.read_text(encoding="utf-8")) for p in sorted(SERVICES.rglob("*.py"))}
    classes = _conflict_classes(trees)
    literal: dict[str, set[str]] = {}
    computed: dict[str, tuple[str, str]] = {}
    for path, tree in trees.items():
        service = _service_of(path)

        def visit(node: ast.AST, function: str, path: Path = path, service: str = service) -> None:
            for child in ast.iter_child_nodes(node):
                inner = child.name if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef) else function
                if isinstance(child, ast.Call):
                    func = child.func
                    name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
                    if name in classes:
                        given = [k.value for k in child.keywords if k.arg == "code"]
                        # A subclass such as SignupRefused(reason, message) takes the code first.
                        if not given and name != "Conflict" and child.args:
                            given = [child.args[0]]
                        if given and isinstance(given[0], ast.Constant) and isinstance(given[0].value, str):
                            literal.setdefault(service, set()).add(given[0].value)
                        elif given:
                            place = f"{path.relative_to(ROOT).as_posix()}:{function}"
                            computed[place] = (service, ast.unparse(given[0]))
                visit(child, inner)

        visit(tree, "<module>")
    return literal, computed


def _raised_codes() -> dict[str, set[str]]:
    """Every code each service (and the shared package) can raise."""
    literal, computed = _raised()
    codes = {service: set(found) for service, found in literal.items()}
    for place, (service, _) in computed.items():
        codes.setdefault(service, set()).update(conflicts.COMPUTED.get(place, ()))
    return codes


def _documented() -> dict[str, tuple[str, tuple[str, ...]]]:
    """``{operationId: (service, codes)}`` of every operation documenting a 409."""
    found = {}
    for service, op_id, doc in _operations():
        codes = conflicts.codes_of(op_id, doc.method, doc.roles is not None)
        if codes:
            found[op_id] = (service, codes)
    return found


def test_every_place_computing_a_code_is_declared():
    _, computed = _raised()
    undeclared = {place: code for place, (_, code) in computed.items() if place not in conflicts.COMPUTED}
    assert not undeclared, (
        f"Conflict codes computed at run time, not declared in conflicts.COMPUTED: {undeclared}"
    )
    stale = sorted(set(conflicts.COMPUTED) - set(computed))
    assert not stale, f"conflicts.COMPUTED names places that raise no computed code (moved?): {stale}"
    for place, codes in conflicts.COMPUTED.items():
        service = computed[place][0]
        source = "\n".join(p.read_text(encoding="utf-8") for p in (SERVICES / service).rglob("*.py"))
        for code in codes:
            assert f'"{code}"' in source, f"{place}: {code!r} appears nowhere in services/{service}"


def test_every_documented_code_is_raised_by_its_service():
    raised = _raised_codes()
    for op_id, (service, codes) in _documented().items():
        possible = raised.get(service, set()) | raised.get(SHARED, set())
        wrong = [c for c in codes if c not in possible]
        assert not wrong, f"{op_id} documents 409 codes that services/{service} never raises: {wrong}"


def test_every_raised_code_is_documented_on_a_route_of_its_service():
    documented: dict[str, set[str]] = {}
    for service, codes in _documented().values():
        documented.setdefault(service, set()).update(codes)
    everywhere = set().union(*documented.values())
    for service, codes in _raised_codes().items():
        on_routes = everywhere if service == SHARED else documented.get(service, set())
        missing = sorted(codes - on_routes)
        assert not missing, (
            f"services/{service} raises 409 codes that no route documents: {missing}; "
            "list them in infrastructure/dev/conflicts.py"
        )


def test_every_route_declaring_409_lists_its_codes():
    missing = [
        op_id for _, op_id, doc in _operations() if 409 in doc.errors and not conflicts.ROUTES.get(op_id)
    ]
    assert not missing, (
        f"routes declaring 409 without their codes: {missing}; add them to ROUTES in "
        "infrastructure/dev/conflicts.py"
    )
    known = {op_id for _, op_id, _ in _operations()}
    stale = sorted(set(conflicts.ROUTES) - known)
    assert not stale, f"conflicts.ROUTES names no operation (renamed or removed?): {stale}"


def test_every_code_has_a_meaning_and_every_meaning_a_code():
    used = {c for codes in conflicts.ROUTES.values() for c in codes} | set(conflicts.IDEMPOTENT_WRITE)
    assert used <= set(conflicts.MEANINGS), sorted(used - set(conflicts.MEANINGS))
    assert set(conflicts.MEANINGS) <= used, sorted(set(conflicts.MEANINGS) - used)


def test_the_409_response_lists_the_codes():
    for op_id, (_, codes) in _documented().items():
        response = _op(op_id)["responses"]["409"]
        assert response["x-error-codes"] == list(codes), op_id
        for code in codes:
            assert f"`{code}`" in response["description"], (op_id, code)
        examples = response["content"]["application/json"]["examples"]
        assert sorted(examples) == sorted(codes), op_id
        error_schema = _document()["components"]["schemas"]["Error"]
        for example in examples.values():
            jsonschema.validate(example["value"], error_schema)
        if "request_in_progress" in codes:
            assert "Retry-After" in response["headers"], op_id
    claim = _op("coupons_claim")["responses"]["409"]
    assert {"sold_out", "per_customer_limit_reached", "idempotency_key_reused"} <= set(claim["x-error-codes"])
    # A read without conflicts documents none.
    assert "409" not in _op("coupons_get_template")["responses"]
