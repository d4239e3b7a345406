"""The shapes of the resource definition and the naming rules for a stage."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


def _prefix(stage: str) -> str:
    return f"campaign-{stage}"


def table_name(stage: str, service: str, logical: str) -> str:
    return f"{_prefix(stage)}-{service}-{logical}"


def queue_name(stage: str, service: str, dead_letter: bool = False) -> str:
    return f"{_prefix(stage)}-{service}" + ("-dlq" if dead_letter else "")


def topic_name(stage: str, logical: str) -> str:
    return f"{_prefix(stage)}-{logical}"


class _Spec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class GsiSpec(_Spec):
    name: str
    pk: str
    sk: str | None = None


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


class TopicSpec(_Spec):
    logical: str


class ServiceSpec(_Spec):
    name: str
    tables: tuple[TableSpec, ...] = ()
    queue: QueueSpec | None = None
    publishes_to: tuple[str, ...] = ()
    # Queues of other services this service may send to (e.g. referral -> coupons).
    sends_to: tuple[str, ...] = ()
    # Other services' tables this service may read by key, as (service, logical): GetItem only.
    reads_from: tuple[tuple[str, str], ...] = ()

    def table(self, logical: str) -> TableSpec:
        for spec in self.tables:
            if spec.logical == logical:
                return spec
        raise KeyError(f"{self.name} has no table {logical!r}")
