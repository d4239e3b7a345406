"""The shapes of the resource definition and the naming rules for a stage."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


def _prefix(stage: str) -> str:
    return f"campaign-{stage}"


def table_name(stage: str, service: str, logical: str) -> str:
    return f"{_prefix(stage)}-{service}-{logical}"


MAIN_QUEUE = "main"


def queue_key(service: str, logical: str = MAIN_QUEUE) -> str:
    """How a queue is known in the local stack, the test fixtures and the operations CLI:
    the service's name for its main queue, ``<service>-<logical>`` for another."""
    return service if logical == MAIN_QUEUE else f"{service}-{logical}"


def queue_name(stage: str, service: str, dead_letter: bool = False, logical: str = MAIN_QUEUE) -> str:
    """``campaign-<stage>-<service>`` for a service's main queue (the name it always had),
    ``campaign-<stage>-<service>-<logical>`` for another; ``-dlq`` appended for its DLQ."""
    return f"{_prefix(stage)}-{queue_key(service, logical)}" + ("-dlq" if dead_letter else "")


def topic_name(stage: str, logical: str) -> str:
    return f"{_prefix(stage)}-{logical}"


class _Spec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class GsiSpec(_Spec):
    name: str
    pk: str
    sk: str | None = None
    # KEYS_ONLY for an index that is only counted: an update then writes the index only when
    # one of its keys changes, and an entry costs the least to store and to read.
    projection: Literal["ALL", "KEYS_ONLY"] = "ALL"


class TableSpec(_Spec):
    logical: str
    pk: str = "pk"
    sk: str | None = "sk"
    gsis: tuple[GsiSpec, ...] = ()
    ttl_attribute: str | None = None

    def attributes(self) -> list[str]:
        names = [self.pk] + ([self.sk] if self.sk else [])
        for gsi in self.gsis:
            names.append(gsi.pk)
            if gsi.sk:
                names.append(gsi.sk)
        return list(dict.fromkeys(names))


class QueueSpec(_Spec):
    # The queue's name within its service: "main" is the queue order events and other
    # services' messages arrive on; a service may own more (e.g. coupons' "bulk").
    logical: str = Field(default=MAIN_QUEUE, pattern=r"^[a-z][a-z0-9]{0,19}$")
    # Lambda's event source mapping reads batches of this size.
    batch_size: int = Field(default=10, ge=1, le=10)
    # After this many receives a message moves to the DLQ.
    max_receive_count: int = 5
    # Seconds a received message stays invisible (AWS: at least 6x the function timeout).
    visibility_timeout: int = 180
    # The Chalice ``lambda_function`` that consumes the queue.
    consumer: str = "queue_consumer"
    # Topics (logical names) delivered into this queue, raw message delivery.
    subscribes_to: tuple[str, ...] = ("order-events",)
    # AWS: at most this many concurrent invocations of the consumer for this queue (the event
    # source mapping's ScalingConfig; AWS allows 2..1000). None: Lambda's default scaling.
    max_concurrency: int | None = Field(default=None, ge=2, le=1000)


class TopicSpec(_Spec):
    logical: str


class ServiceSpec(_Spec):
    name: str
    tables: tuple[TableSpec, ...] = ()
    # The service's queues, each with its own DLQ and consumer function; "main" first.
    queues: tuple[QueueSpec, ...] = ()
    publishes_to: tuple[str, ...] = ()
    # Queues of other services this service may send to (e.g. referral -> coupons): a service's
    # name for its main queue, ``<service>:<queue>`` for another of its queues (coupons:bulk).
    sends_to: tuple[str, ...] = ()
    # Other services' tables this service may read by key, as (service, logical): GetItem only.
    reads_from: tuple[tuple[str, str], ...] = ()

    @model_validator(mode="after")
    def _queues(self) -> ServiceSpec:
        names = [q.logical for q in self.queues]
        if len(set(names)) != len(names):
            raise ValueError(f"{self.name}: queue names must be unique ({names})")
        if self.queues and names[0] != MAIN_QUEUE:
            raise ValueError(f"{self.name}: the first queue must be the {MAIN_QUEUE!r} one")
        consumers = [q.consumer for q in self.queues]
        if len(set(consumers)) != len(consumers):
            raise ValueError(f"{self.name}: each queue needs its own consumer function ({consumers})")
        return self

    def send_targets(self) -> list[tuple[str, str]]:
        """``sends_to`` as (service, queue logical name) pairs."""
        return [(entry.partition(":")[0], entry.partition(":")[2] or MAIN_QUEUE) for entry in self.sends_to]

    def queue(self, logical: str = MAIN_QUEUE) -> QueueSpec:
        for spec in self.queues:
            if spec.logical == logical:
                return spec
        raise KeyError(f"{self.name} has no queue {logical!r}")

    def queue_of_consumer(self, function: str) -> QueueSpec | None:
        """The queue whose consumer is ``function`` (a Chalice function name), if any."""
        return next((q for q in self.queues if q.consumer == function), None)

    def table(self, logical: str) -> TableSpec:
        for spec in self.tables:
            if spec.logical == logical:
                return spec
        raise KeyError(f"{self.name} has no table {logical!r}")
