"""What one storage call changed inside moto, as journal ops (``journal.py``), and the way
back: loading a journalled state straight into moto's in-process backends.

Effects are read from moto's models, not from the request, so that replay is deterministic:

- DynamoDB: hooks on the backend's ``put_item``, ``update_item`` and ``delete_item`` (which
  ``BatchWriteItem`` and ``TransactWriteItems`` call too) note every key a call touches;
  after the call, the image of each (or its absence) is the effect. Table create, update,
  TTL and delete record the table's definition.
- SQS: hooks on the ``Queue`` and ``Message`` models record each message added (sent, SNS
  deliveries, moves to a DLQ by redrive), received (its receive count) and deleted, and each
  queue purged or deleted, in the order they happen.

The hooks record only on a thread inside ``capturing()`` (the embedded server's request
threads), so moto used anywhere else in the process (``mock_aws`` tests) is untouched.
Every table and queue in moto is covered, not a fixed list.
"""

from __future__ import annotations

import base64
import contextlib
import json
import threading
from collections.abc import Callable, Iterator
from typing import Any

from infrastructure.local.journal import Op, State

REGION = "us-east-1"
_local = threading.local()
_installed = False
_install_lock = threading.Lock()


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=_bytes)


def _bytes(value: Any) -> Any:
    if isinstance(value, bytes | bytearray):
        return {"__b64__": base64.b64encode(bytes(value)).decode()}
    raise TypeError(f"not JSON serializable: {type(value).__name__}")


def _unbytes(value: dict[str, Any]) -> Any:
    if set(value) == {"__b64__"}:
        return base64.b64decode(value["__b64__"])
    return value


class Capture:
    """The effects of one call, collected by the hooks while it runs."""

    def __init__(self) -> None:
        self.items: dict[tuple[str, str], tuple[Any, Any, Any]] = {}
        self.tables: dict[str, Any] = {}
        self.messages: list[Op] = []

    def touch(self, backend: Any, table_name: Any, attrs: Any) -> None:
        table = backend.tables.get(table_name) if isinstance(table_name, str) else None
        if table is None or not isinstance(attrs, dict):
            return
        hash_value = attrs.get(table.hash_key_attr)
        range_value = attrs.get(table.range_key_attr) if table.range_key_attr else None
        if hash_value is None:
            return
        key = json.dumps([hash_value, range_value], sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        self.items.setdefault((table_name, key), (backend, hash_value, range_value))

    def effects(self, items: bool = True) -> list[Op]:
        """The ops to journal: tables and item images read now (after the call), then the
        message ops in the order they happened. ``items=False`` when the call failed as a
        whole (a failed condition, a cancelled transaction), which changes no item."""
        from moto.dynamodb.models.dynamo_type import DynamoType

        ops: list[Op] = []
        for name, backend in self.tables.items():
            table = backend.tables.get(name)
            ops.append(("T", name, definition(table)) if table is not None else ("X", name))
        for (name, key), (backend, hash_value, range_value) in self.items.items() if items else ():
            table = backend.tables.get(name)
            if table is None:
                continue
            try:
                item = table.get_item(
                    DynamoType(hash_value), DynamoType(range_value) if range_value is not None else None
                )
            except Exception:  # a malformed key: the call failed and wrote nothing
                continue
            ops.append(("P", name, key, _dumps(item.to_json()["Attributes"])) if item else ("D", name, key))
        ops.extend(self.messages)
        return ops


@contextlib.contextmanager
def capturing() -> Iterator[Capture]:
    capture = Capture()
    _local.capture = capture
    try:
        yield capture
    finally:
        _local.capture = None


def _current() -> Capture | None:
    return getattr(_local, "capture", None)


def definition(table: Any) -> str:
    provisioned = table.billing_mode != "PAY_PER_REQUEST"
    throughput = {k: table.throughput[k] for k in ("ReadCapacityUnits", "WriteCapacityUnits")}

    def index(i: Any) -> dict[str, Any]:
        out = {"IndexName": i.name, "KeySchema": i.schema, "Projection": i.projection}
        if provisioned and getattr(i, "throughput", None):
            out["ProvisionedThroughput"] = {
                k: i.throughput[k] for k in ("ReadCapacityUnits", "WriteCapacityUnits")
            }
        return out

    return _dumps(
        {
            "schema": table.schema,
            "attr": table.attr,
            "billing_mode": table.billing_mode,
            "throughput": throughput if provisioned else None,
            "global_indexes": [index(g) for g in table.global_indexes],
            "indexes": [index(i) for i in table.indexes],
            "ttl": table.ttl,
        }
    )


def _message_op(queue: str, message: Any) -> Op:
    rest = {
        "body": message.body,
        "attrs": message.message_attributes,
        "sys": message.system_attributes,
        "sent": message.sent_timestamp,
        "sender": message.sender_id,
        "group": message.group_id,
        "dedup": message.deduplication_id,
        "seq": message.sequence_number,
        "delayed_until": message.delayed_until,
    }
    first = message.approximate_first_receive_timestamp or 0
    return ("M", queue, message.id, str(message.approximate_receive_count), str(first), _dumps(rest))


# -- hooks --------------------------------------------------------------------------------------
def _first(args: tuple[Any, ...], kwargs: dict[str, Any], *names: str) -> Any:
    if args:
        return args[0]
    return next((kwargs[n] for n in names if n in kwargs), None)


def _second(args: tuple[Any, ...], kwargs: dict[str, Any], *names: str) -> Any:
    if len(args) > 1:
        return args[1]
    return next((kwargs[n] for n in names if n in kwargs), None)


def _item_hook(method: Callable[..., Any]) -> Callable[..., Any]:
    def hooked(self: Any, *args: Any, **kwargs: Any) -> Any:
        capture = _current()
        if capture is not None:
            table = _first(args, kwargs, "table_name")
            capture.touch(self, table, _second(args, kwargs, "item_attrs", "key"))
        return method(self, *args, **kwargs)

    return hooked


def _table_hook(method: Callable[..., Any]) -> Callable[..., Any]:
    def hooked(self: Any, *args: Any, **kwargs: Any) -> Any:
        result = method(self, *args, **kwargs)
        capture = _current()
        name = _first(args, kwargs, "name", "table_name")
        if capture is not None and isinstance(name, str):
            capture.tables[name] = self
        return result

    return hooked


def install() -> None:
    """Hook moto's models (once per process)."""
    global _installed
    with _install_lock:
        if _installed:
            return
        from moto.dynamodb.models import DynamoDBBackend
        from moto.sqs.models import Message, Queue, SQSBackend

        for name in ("put_item", "update_item", "delete_item"):
            setattr(DynamoDBBackend, name, _item_hook(getattr(DynamoDBBackend, name)))
        for name in ("create_table", "update_table", "update_time_to_live", "delete_table"):
            setattr(DynamoDBBackend, name, _table_hook(getattr(DynamoDBBackend, name)))

        add_message = Queue.add_message

        def hooked_add(self: Any, message: Any) -> None:
            add_message(self, message)
            capture = _current()
            if capture is not None and any(m is message for m in reversed(self._messages)):
                capture.messages.append(_message_op(self.name, message))

        delete_message = Queue.delete_message

        def hooked_delete(self: Any, receipt_handle: str) -> None:
            capture = _current()
            if capture is None or receipt_handle in self.deleted_messages:
                return delete_message(self, receipt_handle)
            gone = [m.id for m in self._messages if m.had_receipt_handle(receipt_handle)]
            delete_message(self, receipt_handle)
            capture.messages.extend(("A", message_id) for message_id in gone)

        mark_received = Message.mark_received

        def hooked_received(self: Any, visibility_timeout: int | None = None) -> None:
            mark_received(self, visibility_timeout)
            capture = _current()
            if capture is not None:
                first = self.approximate_first_receive_timestamp or 0
                capture.messages.append(("R", self.id, str(self.approximate_receive_count), str(first)))

        def queue_gone(method: Callable[..., Any]) -> Callable[..., Any]:
            def hooked(self: Any, queue_name: str, *args: Any, **kwargs: Any) -> Any:
                result = method(self, queue_name, *args, **kwargs)
                capture = _current()
                if capture is not None:
                    capture.messages.append(("Q", queue_name))
                return result

            return hooked

        # patching moto's classes is the point: setattr says so to the type checker
        setattr(Queue, "add_message", hooked_add)  # noqa: B010
        setattr(Queue, "delete_message", hooked_delete)  # noqa: B010
        setattr(Message, "mark_received", hooked_received)  # noqa: B010
        setattr(SQSBackend, "purge_queue", queue_gone(SQSBackend.purge_queue))  # noqa: B010
        setattr(SQSBackend, "delete_queue", queue_gone(SQSBackend.delete_queue))  # noqa: B010
        _installed = True


# -- loading a state into moto ------------------------------------------------------------------
def _backends(region: str) -> tuple[Any, Any]:
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.dynamodb.models import dynamodb_backends
    from moto.sqs.models import sqs_backends

    return dynamodb_backends[DEFAULT_ACCOUNT_ID][region], sqs_backends[DEFAULT_ACCOUNT_ID][region]


def _create_table(dynamodb: Any, name: str, spec: dict[str, Any]) -> None:
    table = dynamodb.create_table(
        name,
        schema=spec["schema"],
        throughput=spec.get("throughput"),
        attr=spec["attr"],
        global_indexes=spec.get("global_indexes") or None,
        indexes=spec.get("indexes") or None,
        streams=None,
        billing_mode=spec.get("billing_mode") or "PAY_PER_REQUEST",
        sse_specification=None,
        tags=[],
        deletion_protection_enabled=False,
        warm_throughput=None,
    )
    table.ttl = dict(spec.get("ttl") or table.ttl)


def item(table: Any, image: dict[str, Any]) -> Any:
    """A moto ``Item`` for ``image`` (DynamoDB JSON), built without re-validating it: every
    image was a stored item already (this is what moto's own ``__deepcopy__`` does)."""
    from moto.dynamodb.models.dynamo_type import DynamoType, Item, LimitedSizeDict

    made: Any = Item.__new__(Item)
    made.hash_key = DynamoType(image[table.hash_key_attr])
    made.range_key = DynamoType(image[table.range_key_attr]) if table.range_key_attr else None
    attrs = LimitedSizeDict.__new__(LimitedSizeDict)
    for name, value in image.items():
        dict.__setitem__(attrs, name, DynamoType(value))
    made.attrs = attrs
    return made


def put_items(table: Any, images: Iterator[dict[str, Any]]) -> int:
    count = 0
    for image in images:
        made = item(table, image)
        if made.range_key is not None:
            table.items[made.hash_key][made.range_key] = made
        else:
            table.items[made.hash_key] = made
        count += 1
    return count


def _message(message_id: str, count: str, first: str, rest: dict[str, Any]) -> Any:
    from moto.sqs.models import Message

    message = Message(message_id, rest["body"], rest.get("sys") or {})
    message.message_attributes = rest.get("attrs") or {}
    message.sent_timestamp = rest.get("sent")
    message.sender_id = rest.get("sender") or message.sender_id
    message.group_id = rest.get("group")
    message.deduplication_id = rest.get("dedup")
    message.sequence_number = rest.get("seq")
    message.delayed_until = float(rest.get("delayed_until") or 0)
    message.approximate_receive_count = int(count)
    message.approximate_first_receive_timestamp = int(first) or None
    return message  # visible at once: a message in flight at the stop is delivered again


def load(
    state: State, region: str = REGION, log: Callable[[str], None] | None = None
) -> tuple[dict[str, int], dict[str, int]]:
    """Put ``state`` into moto's backends (tables the state defines and moto lacks are
    created; items and messages are added). Returns the items per table, messages per queue."""
    dynamodb, sqs = _backends(region)
    for name, spec in state.definitions.items():
        if name not in dynamodb.tables:
            _create_table(dynamodb, name, json.loads(spec))
    counts: dict[str, int] = {}
    for name, images in state.items.items():
        table = dynamodb.tables.get(name)
        if table is None:
            if images and log is not None:
                log(f"table {name} no longer exists: {len(images)} saved items not loaded")
            continue
        counts[name] = put_items(table, (json.loads(image) for image in images.values()))
    messages: dict[str, int] = {}
    for message_id, (queue_name, count, first, rest) in state.messages.items():
        queue = sqs.queues.get(queue_name) or sqs.create_queue(queue_name)
        queue._messages.append(_message(message_id, count, first, json.loads(rest, object_hook=_unbytes)))
        messages[queue_name] = messages.get(queue_name, 0) + 1
    return counts, messages
