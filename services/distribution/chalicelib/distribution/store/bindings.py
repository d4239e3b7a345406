"""Customer bindings (``cust#<shop>#<customer>`` / ``binding``): the distributor a customer is
bound to, since when, ``version``ed, with the orders and GMV the binding brought (``counted``:
order id -> paid time (epoch) of the orders counted in the last ``COUNT_WINDOW_DAYS``, so a
redelivered order counts once) and its audit (``changes``: every bind, takeover, transfer
and unbind, written in the same put as the change itself). gsi1
(``bound#<shop>#<distributor>`` / ``<bound_at>#<customer>``) lists a distributor's bound
customers. Audit lines of older releases (``cust#...`` / ``bindlog#<at>#<n>``) are still read."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from campaign_shared.storage import codec, paging, writes
from chalicelib.distribution.store import keys, table


@dataclass(frozen=True)
class BindingRecord:
    customer_id: str
    distributor_id: str | None
    bound_at: str
    version: int = 0
    orders: int = 0
    gmv_amount: int = 0
    counted: dict[str, int] = field(default_factory=dict)
    changes: tuple[BindingChange, ...] = ()

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> BindingRecord:
        distributor = item.get("distributor_id")
        return cls(
            customer_id=str(item["customer_id"]),
            distributor_id=None if distributor is None else str(distributor),
            bound_at=str(item["bound_at"]),
            version=int(item.get("version", 0)),
            orders=int(item.get("orders", 0)),
            gmv_amount=int(item.get("gmv_amount", 0)),
            counted={str(k): int(v) for k, v in (item.get("counted") or {}).items()},
            changes=tuple(
                BindingChange.from_item({**c, "customer_id": item["customer_id"]})
                for c in item.get("changes") or []
            ),
        )

    def to_item(self, shop: str) -> dict[str, Any]:
        item: dict[str, Any] = {
            "pk": keys.customer_pk(shop, self.customer_id),
            "sk": keys.BINDING,
            "customer_id": self.customer_id,
            "bound_at": self.bound_at,
            "version": self.version,
            "orders": self.orders,
            "gmv_amount": self.gmv_amount,
            "counted": dict(self.counted),
            "changes": [c.to_dict() for c in self.changes],
        }
        if self.distributor_id is not None:
            item["distributor_id"] = self.distributor_id
            item["gsi1pk"] = keys.bound_pk(shop, self.distributor_id)
            item["gsi1sk"] = keys.bound_sk(self.bound_at, self.customer_id)
        return item


@dataclass(frozen=True)
class BindingChange:
    """An audited change: ``action`` (bind, takeover, transfer, unbind), from and to whom."""

    customer_id: str
    action: str
    at: str
    from_distributor: str | None = None
    to_distributor: str | None = None
    reason: str | None = None
    by: str | None = None
    order_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """As kept in the binding's ``changes`` (the customer is the binding's)."""
        return {k: v for k, v in self.__dict__.items() if v is not None and k != "customer_id"}

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> BindingChange:
        names = cls.__dataclass_fields__
        return cls(**{k: (None if v is None else str(v)) for k, v in item.items() if k in names})  # type: ignore[arg-type]


class Bindings:
    def get(self, shop: str, customer_id: str) -> BindingRecord | None:
        item = table.get(keys.binding_key(shop, customer_id), consistent=True)
        return BindingRecord.from_item(item) if item else None

    def put(self, shop: str, record: BindingRecord, expected_version: int) -> bool:
        """Write a binding (``record.version`` = ``expected_version`` + 1) if the stored one is
        still ``expected_version`` (0: none). False when another change landed first."""
        condition = "attribute_not_exists(pk)" if expected_version == 0 else "version = :v"
        values = {} if expected_version == 0 else {"v": expected_version}
        return table.put_if(record.to_item(shop), condition=condition, values=values)

    def count_order(
        self,
        shop: str,
        customer_id: str,
        distributor_id: str,
        order_id: str,
        gmv: int,
        paid_epoch: int,
        forget: tuple[str, ...] = (),
    ) -> bool:
        """Count an order the binding brought to ``distributor_id``, once per order, dropping
        the ``forget`` orders (counted before the window) from ``counted`` in the same write."""
        names = {"#o": order_id, **{f"#f{i}": o for i, o in enumerate(forget)}}
        removes = "".join(f", counted.#f{i}" for i in range(len(forget)))
        return writes.update(
            table.name(),
            keys.binding_key(shop, customer_id),
            update="SET counted.#o = :paid ADD orders :one, gmv_amount :gmv"
            + (f" REMOVE {removes[2:]}" if forget else ""),
            condition="distributor_id = :d AND attribute_not_exists(counted.#o)",
            names=names,
            values=codec.values(paid=paid_epoch, one=1, gmv=gmv, d=distributor_id),
            returns="NONE",
        ).applied

    def history(self, shop: str, customer_id: str) -> list[BindingChange]:
        """Audit lines of older releases (kept as their own items); newer ones are the
        binding's ``changes``."""
        items = paging.query_all(
            table=table.name(),
            key_condition="pk = :pk AND begins_with(sk, :prefix)",
            expression_values=codec.values(pk=keys.customer_pk(shop, customer_id), prefix=keys.BINDING_LOG),
            consistent=True,
        )
        return [BindingChange.from_item(i) for i in items]

    def of_distributor(
        self, shop: str, distributor_id: str, page: paging.PageParams
    ) -> tuple[list[BindingRecord], str | None]:
        """A distributor's bound customers, most recently bound first."""
        items, cursor = paging.query_page(
            table=table.name(),
            index=keys.GSI,
            key_condition="gsi1pk = :p",
            expression_values=codec.values(p=keys.bound_pk(shop, distributor_id)),
            page=page,
            forward=False,
        )
        return [BindingRecord.from_item(i) for i in items], cursor
