"""Subcommands for per-campaign stacks on AWS (filled in by the infrastructure work)."""

from __future__ import annotations

from typing import Any


def register(subparsers: Any) -> None:
    """Add the per-campaign subcommands to the ``campaign`` parser."""
    return None
