"""Key building: every id in a key is escaped, so ``O#a#b#c`` is never both (shop ``a``,
customer ``b#c``) and (shop ``a#b``, customer ``c``)."""

from __future__ import annotations

from typing import Any

SEPARATOR = "#"


def part(value: str) -> str:
    """One key part with ``%`` and ``#`` escaped (``%25``, ``%23``)."""
    return value.replace("%", "%25").replace("#", "%23")


def join(*parts: str) -> str:
    """Escaped parts joined by ``#``: ``join("L", shop, list_id)``."""
    return SEPARATOR.join(part(p) for p in parts)


def unpart(value: str) -> str:
    """The id an escaped key part was made from."""
    return value.replace("%23", "#").replace("%25", "%")


def key(pk: str, sk: str) -> dict[str, Any]:
    """A ``pk``/``sk`` key as an AttributeValue map."""
    return {"pk": {"S": pk}, "sk": {"S": sk}}
