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
