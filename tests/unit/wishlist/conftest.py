"""Unit tests import ``chalicelib.wishlist`` the way Lambda does: the service folder is the
task root, which ``load_app`` puts on the path (no AWS is touched)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from infrastructure.dev.apps import load_app

load_app("wishlist")

START = datetime(2026, 11, 1, 12, 0, 0, tzinfo=UTC)


@pytest.fixture
def clock_at(monkeypatch):
    """Move the services' clock: ``clock_at(seconds)`` sets now to a fixed start + seconds."""
    from campaign_shared import clock

    state = {"now": START}
    monkeypatch.setattr(clock, "now", lambda: state["now"])

    def move(seconds: float) -> datetime:
        state["now"] = START + timedelta(seconds=seconds)
        return state["now"]

    return move


@pytest.fixture
def wishlist():
    """The wishlist's repositories as in-memory fakes (``fakes.FakeWishlist``)."""
    from tests.unit.wishlist.fakes import FakeWishlist

    return FakeWishlist()
