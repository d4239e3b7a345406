"""The docs a newcomer reads are true of the code: the route index of docs/API.md is the
route registry's, and the architecture page names the files it describes."""

from __future__ import annotations

from pathlib import Path

from infrastructure.dev import api_index

ROOT = Path(__file__).resolve().parents[3]


def test_the_route_index_of_docs_api_is_generated_from_the_routes() -> None:
    text = api_index.DOC.read_text(encoding="utf-8")
    assert api_index.current_section(text) == api_index.index(), (
        "docs/API.md's route index is stale: run `python -m infrastructure.dev.api_index`"
    )


def test_every_route_of_the_registry_is_in_the_index() -> None:
    from infrastructure.dev.apps import SERVICE_NAMES, load_app

    text = api_index.DOC.read_text(encoding="utf-8")
    for name in SERVICE_NAMES:
        for doc in load_app(name).api.docs:
            assert f"`{doc.method} /{name}{doc.path}`" in text


def test_the_readme_links_docs_that_exist_in_the_clone() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "../shared/" not in readme
    for page in ("docs/API.md", "docs/ARCHITECTURE.md"):
        assert page in readme and (ROOT / page).exists()


def test_no_two_services_name_a_model_alike() -> None:
    """The OpenAPI document keys its schemas by model name across every service: two
    different models of one name would share a schema, and one service's responses would be
    checked against the other's (a model of the shared package may serve several)."""
    import json

    from pydantic import BaseModel

    from infrastructure.dev.apps import SERVICE_NAMES, load_app

    shapes: dict[str, dict[str, set[str]]] = {}
    for name in SERVICE_NAMES:
        for doc in load_app(name).api.docs:
            for model in (doc.body, doc.query, doc.response):
                if isinstance(model, type) and issubclass(model, BaseModel):
                    schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
                    top = {k: v for k, v in schema.items() if k != "$defs"}
                    parts = {model.__name__: top, **schema.get("$defs", {})}
                    for component, shape in parts.items():
                        seen = shapes.setdefault(component, {})
                        seen.setdefault(json.dumps(shape, sort_keys=True), set()).add(name)
    clashes = {
        c: sorted({s for v in seen.values() for s in v}) for c, seen in shapes.items() if len(seen) > 1
    }
    assert not clashes, f"different models of one name: {clashes}"
