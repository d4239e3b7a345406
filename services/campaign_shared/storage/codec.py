"""Plain Python values <-> DynamoDB AttributeValue maps. Numbers come back as ``int`` when
they are whole (the services store money as integer minor units), sets and lists as such."""

from __future__ import annotations

from decimal import Decimal
from typing import Any


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, set):
        return {_plain(v) for v in value}
    return value


def to_value(value: Any) -> dict[str, Any]:
    from boto3.dynamodb.types import TypeSerializer

    result: dict[str, Any] = TypeSerializer().serialize(value)
    return result


def to_item(data: dict[str, Any]) -> dict[str, Any]:
    """A plain dict -> an AttributeValue map; ``None`` values are left out."""
    return {k: to_value(v) for k, v in data.items() if v is not None}


def from_item(item: dict[str, Any] | None) -> dict[str, Any] | None:
    """An AttributeValue map -> a plain dict (``None`` stays ``None``)."""
    if item is None:
        return None
    from boto3.dynamodb.types import TypeDeserializer

    deserializer = TypeDeserializer()
    return {k: _plain(deserializer.deserialize(v)) for k, v in item.items()}


def values(**kwargs: Any) -> dict[str, Any]:
    """ExpressionAttributeValues from keyword arguments: ``values(n=1)`` -> ``{":n": {"N": "1"}}``."""
    return {f":{k}": to_value(v) for k, v in kwargs.items()}
