"""Request-unit accounting for DynamoDB calls, by DynamoDB's pricing rules.

moto's ReturnConsumedCapacity is a stub, so units are computed from what is sent and
returned: reads cost one unit per 4 KB (half for eventually consistent reads, double in
a transaction), writes one unit per 1 KB (double in a transaction); every call costs at
least one unit. Query/Scan sum the sizes of the items returned before rounding; other
reads and writes round each item separately. An UpdateItem is charged for the item it
returns (``ReturnValues``) when there is one, otherwise for the key and values sent.

``measure()`` collects the units of the calls made inside it on the current thread;
``TOTAL`` counts everything in the process.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

READ_UNIT_BYTES = 4096
WRITE_UNIT_BYTES = 1024


@dataclass
class Units:
    read: float = 0.0
    write: float = 0.0
    calls: int = 0
    by_operation: dict[str, int] = field(default_factory=dict)

    def add(self, operation: str, read: float, write: float) -> None:
        self.read += read
        self.write += write
        self.calls += 1
        self.by_operation[operation] = self.by_operation.get(operation, 0) + 1

    def header(self) -> str:
        return f"read={self.read:g};write={self.write:g};calls={self.calls}"


_local = threading.local()
_total_lock = threading.Lock()
TOTAL = Units()


@contextmanager
def measure() -> Iterator[Units]:
    stack: list[Units] = getattr(_local, "stack", None) or []
    _local.stack = stack
    units = Units()
    stack.append(units)
    try:
        yield units
    finally:
        stack.remove(units)


def _record(operation: str, read: float, write: float) -> None:
    for units in getattr(_local, "stack", ()):
        units.add(operation, read, write)
    with _total_lock:
        TOTAL.add(operation, read, write)


# ---- item sizes -------------------------------------------------------------------


def _number_size(text: str) -> int:
    digits = len(text.lstrip("-").replace(".", "").lstrip("0")) or 1
    return math.ceil(digits / 2) + 1


def value_size(value: dict[str, Any]) -> int:
    ((kind, raw),) = value.items()
    if kind == "S":
        return len(raw.encode())
    if kind == "N":
        return _number_size(raw)
    if kind == "B":
        return len(raw) if isinstance(raw, bytes | bytearray) else len(str(raw))
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "SS":
        return sum(len(s.encode()) for s in raw)
    if kind == "NS":
        return sum(_number_size(n) for n in raw)
    if kind == "BS":
        return sum(len(b) for b in raw)
    if kind == "L":
        return 3 + sum(1 + value_size(v) for v in raw)
    if kind == "M":
        return 3 + sum(1 + len(k.encode()) + value_size(v) for k, v in raw.items())
    return 0


def item_size(item: dict[str, Any] | None) -> int:
    if not item:
        return 0
    return sum(len(name.encode()) + value_size(value) for name, value in item.items())


def read_units(size: int, consistent: bool, transactional: bool = False) -> float:
    units = max(1, math.ceil(size / READ_UNIT_BYTES))
    if transactional:
        return units * 2.0
    return float(units) if consistent else units / 2


def write_units(size: int, transactional: bool = False) -> float:
    units = max(1, math.ceil(size / WRITE_UNIT_BYTES))
    return units * (2.0 if transactional else 1.0)


def _update_size(params: dict[str, Any], parsed: dict[str, Any]) -> int:
    if parsed.get("Attributes"):
        return max(item_size(parsed["Attributes"]), item_size(params.get("Key")))
    sent = item_size(params.get("Key"))
    sent += sum(value_size(v) for v in (params.get("ExpressionAttributeValues") or {}).values())
    return sent


def cost(operation: str, params: dict[str, Any], parsed: dict[str, Any]) -> tuple[float, float]:
    """(read units, write units) that one call costs."""
    consistent = bool(params.get("ConsistentRead"))
    if operation == "GetItem":
        return read_units(item_size(parsed.get("Item")), consistent), 0.0
    if operation in ("Query", "Scan"):
        items = parsed.get("Items") or []
        size = sum(item_size(i) for i in items)
        scanned, count = parsed.get("ScannedCount"), parsed.get("Count")
        if scanned and count and scanned > count and items:
            size = int(size * scanned / count)  # filtered items were read too
        return read_units(size, consistent), 0.0
    if operation == "BatchGetItem":
        read = 0.0
        for table, items in (parsed.get("Responses") or {}).items():
            table_consistent = bool(params.get("RequestItems", {}).get(table, {}).get("ConsistentRead"))
            read += sum(read_units(item_size(i), table_consistent) for i in items)
        return read, 0.0
    if operation == "PutItem":
        return 0.0, write_units(item_size(params.get("Item")))
    if operation == "UpdateItem":
        return 0.0, write_units(_update_size(params, parsed))
    if operation == "DeleteItem":
        return 0.0, write_units(max(item_size(parsed.get("Attributes")), item_size(params.get("Key"))))
    if operation == "BatchWriteItem":
        write = 0.0
        for requests in (params.get("RequestItems") or {}).values():
            for request in requests:
                if "PutRequest" in request:
                    write += write_units(item_size(request["PutRequest"]["Item"]))
                else:
                    write += write_units(item_size(request["DeleteRequest"]["Key"]))
        return 0.0, write
    if operation == "TransactWriteItems":
        write = 0.0
        for entry in params.get("TransactItems") or []:
            ((kind, body),) = entry.items()
            if kind == "Put":
                size = item_size(body.get("Item"))
            elif kind == "Update":
                size = _update_size(body, {})
            else:
                size = item_size(body.get("Key"))
            write += write_units(size, transactional=True)
        return 0.0, write
    if operation == "TransactGetItems":
        responses = parsed.get("Responses") or []
        return sum(read_units(item_size(r.get("Item")), True, transactional=True) for r in responses), 0.0
    return 0.0, 0.0


def _after_call(http_response: Any, parsed: dict[str, Any], model: Any, context: Any, **_: Any) -> None:
    if parsed.get("Error") or (http_response is not None and http_response.status_code >= 300):
        # A refused conditional write still costs a write unit in DynamoDB.
        operation = model.name
        params = context.get("campaign_params") or {}
        if operation in ("PutItem", "UpdateItem", "DeleteItem"):
            _record(operation, 0.0, write_units(item_size(params.get("Item") or params.get("Key"))))
        return
    params = context.get("campaign_params") or {}
    read, write = cost(model.name, params, parsed)
    _record(model.name, read, write)


def _provide_params(params: dict[str, Any], context: Any, **_: Any) -> None:
    context["campaign_params"] = params


def install(client: Any) -> None:
    """Attach the accounting hooks to a boto3 DynamoDB client."""
    events = client.meta.events
    events.register("provide-client-params.dynamodb.*", _provide_params, unique_id="campaign-units-params")
    events.register("after-call.dynamodb.*", _after_call, unique_id="campaign-units-after")
